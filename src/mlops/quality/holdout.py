"""The candidate's holdout rows, proven: the workspace's (``workspace_holdout``, the file its
dvc.lock pins) or a version's (``version_holdout``, fetched through DVC by the md5 its commit's
dvc.lock pins and checked against it), with each row's identity from ``row_ids.csv``; and the rows
a version trained on (``training_ids``). Fetched files are kept in ``cache_dir()`` by md5."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from mlops.core import paths, tools
from mlops.core.errors import MlopsError
from mlops.model import remote

if TYPE_CHECKING:  # pandas loads only when a holdout is read
    import pandas as pd

    from mlops.formats.contract import Contract
    from mlops.model import registry


class ChampionError(MlopsError):
    """The live model cannot be scored on the candidate's rows; the message says why."""


@dataclass(frozen=True)
class Holdout:
    """The candidate's holdout rows and the words that name them in a report."""

    frame: pd.DataFrame
    contract: Contract
    md5: str
    where: str  # "this change's holdout (artifacts/split/holdout.csv, 600 rows, md5 …)"
    ids: tuple[str, ...] | None = None  # each row's identity (row_ids.csv), in frame order


def short(md5: str | None) -> str:
    return (md5 or "?")[:12]


def md5_of(blob: bytes) -> str:
    return hashlib.md5(blob).hexdigest()


def cache_dir() -> Path:
    """Where fetched artifacts and holdouts are kept by digest (the same place `mlops deploy`
    keeps artifacts), so a second report or check downloads nothing."""
    from mlops.model import registry

    return registry.cache_dir()


def lock_md5(lock_text: str | None, path: str) -> str | None:
    """The md5 a ``dvc.lock`` text pins for the output ``path`` (None when it pins none)."""
    try:
        lock = yaml.safe_load(lock_text or "") or {}
        outs = [o for s in lock.get("stages", {}).values() for o in s.get("outs", [])]
    except (yaml.YAMLError, AttributeError, TypeError):
        return None
    return next((o.get("md5") for o in outs if isinstance(o, dict) and o.get("path") == path), None)


def _describe(owner: str, rows: int, md5: str, data_md5: str | None) -> str:
    data = f", split from `{paths.DATA_DVC}` md5 `{short(data_md5)}`" if data_md5 else ""
    return f"{owner} (`{paths.HOLDOUT}`, {rows:,} rows, md5 `{short(md5)}`{data}"


def _read(path: Path, contract: Contract, md5: str, owner: str, data_md5: str | None) -> Holdout:
    try:
        frame = contract.read_table(path)
    except MlopsError as exc:
        raise ChampionError(f"{owner}: {exc}") from exc
    return Holdout(frame, contract, md5, _describe(owner, len(frame), md5, data_md5) + ")")


def workspace_holdout(root: str | Path) -> Holdout:
    """The workspace's holdout, which the candidate's reports/metrics.json was measured on:
    it must be the file the workspace's dvc.lock pins."""
    from mlops.formats.contract import load_contract

    root = Path(root)
    path = root / paths.HOLDOUT
    if not path.is_file():
        raise ChampionError(f"`{paths.HOLDOUT}` is not in the workspace (run `dvc repro`)")
    lock = root / "dvc.lock"
    pinned = lock_md5(lock.read_text() if lock.is_file() else None, paths.HOLDOUT)
    actual = md5_of(path.read_bytes())
    if pinned != actual:
        raise ChampionError(
            f"`{paths.HOLDOUT}` (md5 `{short(actual)}`) is not the holdout dvc.lock pins "
            f"(`{short(pinned)}`), so the candidate's metrics were not measured on it "
            "(run `dvc repro`)"
        )
    dvc_file = root / paths.DATA_DVC
    data_md5 = _data_md5(dvc_file.read_text() if dvc_file.is_file() else None)
    holdout = _read(path, load_contract(root), actual, "this change's holdout", data_md5)
    ids_path = root / paths.ROW_IDS
    ids_md5 = lock_md5(lock.read_text() if lock.is_file() else None, paths.ROW_IDS)
    if not ids_path.is_file() or md5_of(ids_path.read_bytes()) != ids_md5:
        return holdout  # rows not proven: scoring says so
    return _with_ids(holdout, ids_path.read_bytes())


def _sides(blob: bytes) -> pd.DataFrame:
    import io

    import pandas as pd

    return pd.read_csv(io.BytesIO(blob), dtype=str, keep_default_na=False)


def _with_ids(holdout: Holdout, blob: bytes) -> Holdout:
    """The holdout with each row's identity: the holdout side of row_ids.csv, in table order,
    as the split wrote both."""
    sides = _sides(blob)
    ids = tuple(sides.loc[sides["side"] == "holdout", "row_id"])
    if len(ids) != len(holdout.frame):
        raise ChampionError(
            f"`{paths.ROW_IDS}` lists {len(ids)} holdout rows but `{paths.HOLDOUT}` has "
            f"{len(holdout.frame)} (run `dvc repro`)"
        )
    return replace(holdout, ids=ids)


def _data_md5(text: str | None) -> str | None:
    try:
        return yaml.safe_load(text or "")["outs"][0]["md5"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def show(root: Path, commit: str, path: str) -> str | None:
    proc = tools.run(["git", "show", f"{commit}:{path}"], cwd=root, check=False)
    return proc.stdout if proc.returncode == 0 else None


def version_contract(root: Path, version: registry.Version) -> Contract:
    from mlops.formats.contract import Contract

    raw = version.metadata.get("contract")
    if raw is None:  # a tag written before tags carried the contract: the commit's file
        text = show(root, version.commit, paths.CONTRACT)
        raw = yaml.safe_load(text) if text else None
    if raw is None:
        raise ChampionError(f"{version.tag}: no contract in its tag or at its commit")
    return Contract.from_dict(raw, source=f"{version.tag}'s contract")


def version_holdout(root: str | Path, version: registry.Version) -> Holdout:
    """``version``'s holdout: the md5 its commit's dvc.lock pins, fetched through DVC (cache or
    remote) and checked against that md5; kept in ``cache_dir()`` by md5."""
    root = Path(root)
    owner = f"{version.tag}'s holdout"
    md5 = lock_md5(show(root, version.commit, "dvc.lock"), paths.HOLDOUT)
    if not md5:
        raise ChampionError(f"{owner}: dvc.lock at {version.commit[:10]} pins no `{paths.HOLDOUT}`")
    contract = version_contract(root, version)
    dest = _cached(root, version, paths.HOLDOUT, md5, owner)
    holdout = _read(dest, contract, md5, owner, version.metadata.get("data_md5"))
    ids = _pinned(root, version, paths.ROW_IDS, f"{version.tag}'s row identities")
    return holdout if ids is None else _with_ids(holdout, ids)


def _cached(root: Path, version: registry.Version, path: str, md5: str, owner: str) -> Path:
    """``path`` at ``version``'s commit, by the md5 its dvc.lock pins, kept in ``cache_dir()``."""
    dest = cache_dir() / "holdouts" / f"{md5}{Path(path).suffix}"
    if not (dest.is_file() and md5_of(dest.read_bytes()) == md5):
        store(dest, _fetch(root, version, md5, owner, path))
    return dest


def _pinned(root: Path, version: registry.Version, path: str, owner: str) -> bytes | None:
    """The bytes of a DVC output at ``version``'s commit (None when its dvc.lock pins none)."""
    md5 = lock_md5(show(root, version.commit, "dvc.lock"), path)
    return None if not md5 else _cached(root, version, path, md5, owner).read_bytes()


def training_ids(root: str | Path, version: registry.Version) -> frozenset[str]:
    """The identities of the rows ``version`` trained on or chose its threshold on (every side
    but the holdout), from the row_ids file its commit pins."""
    blob = _pinned(Path(root), version, paths.ROW_IDS, f"{version.tag}'s row identities")
    if blob is None:
        raise ChampionError(
            f"{version.tag} records no row identities (`{paths.ROW_IDS}` is not in its commit's "
            "dvc.lock), so rows it never trained on cannot be told apart"
        )
    sides = _sides(blob)
    return frozenset(sides.loc[sides["side"] != "holdout", "row_id"])


def _fetch(
    root: Path, version: registry.Version, md5: str, owner: str, path: str = paths.HOLDOUT
) -> bytes:
    import dvc.api

    try:
        blob = dvc.api.read(path, repo=str(root), rev=version.commit, mode="rb")
    except Exception as exc:  # DVC raises many types; all mean "not fetchable"
        raise ChampionError(
            f"{owner} (md5 `{short(md5)}`) cannot be fetched from the DVC remote: "
            + remote.reason(exc, f"was `dvc push` run at {version.commit[:10]}?")
        ) from exc
    if md5_of(blob) != md5:
        raise ChampionError(
            f"{owner}: the DVC remote returned md5 `{short(md5_of(blob))}`, but dvc.lock pins "
            f"`{short(md5)}`; refusing it"
        )
    return blob


def store(dest: Path, blob: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(blob)
    tmp.replace(dest)
