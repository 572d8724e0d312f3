"""Champion against challenger on the same rows: the live model scored on the candidate's holdout.

A version's recorded metrics were measured on *its own* holdout, a different split when the data
changed. To compare like with like, the live version's model is fetched through DVC (by the md5
its tag's commit pins, ``registry.fetch_artifact``), its sha256 checked against the digest
models.yaml pins before a byte is loaded, and scored with the task's metrics (``mlops.scoring``,
what the evaluate stage uses) on the candidate's holdout rows:

- the PR report and ``mlops gate``: the workspace's ``artifacts/split/holdout.csv``
  (``workspace_holdout``);
- ``mlops check``: the candidate version's holdout, fetched through DVC by the md5 in its
  commit's ``dvc.lock`` and checked against it (``version_holdout``).

Whatever goes wrong (no remote, a missing object, a digest that does not match, a model trained
on another contract) is a ``Champion`` without metrics and a note saying why: the caller falls
back to the recorded metrics and says so. Nothing here raises for those.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlops import paths, remote, tools
from mlops.errors import MlopsError

if TYPE_CHECKING:  # pandas and scikit-learn load only when something is scored
    import pandas as pd

    from mlops import registry
    from mlops.contract import Contract


class ChampionError(MlopsError):
    """The live model cannot be scored on the candidate's rows; the message says why."""


@dataclass(frozen=True)
class Holdout:
    """The candidate's holdout rows and the words that name them in a report."""

    frame: pd.DataFrame
    contract: Contract
    md5: str
    where: str  # "this change's holdout (artifacts/split/holdout.csv, 600 rows, md5 …)"


@dataclass(frozen=True)
class Champion:
    """The live version scored on the candidate's holdout, or why it could not be."""

    version: str
    metrics: dict[str, float] | None
    rows: str  # the holdout's ``where``, or "" when there were no rows to score on
    note: str = ""  # set when ``metrics`` is None

    @property
    def scored(self) -> bool:
        return self.metrics is not None


def short(md5: str | None) -> str:
    return (md5 or "?")[:12]


def _md5(blob: bytes) -> str:
    return hashlib.md5(blob).hexdigest()


def cache_dir() -> Path:
    """Where fetched artifacts and holdouts are kept by digest (the same place `mlops deploy`
    keeps artifacts), so a second report or check downloads nothing."""
    from mlops.promotion.deploy import cache_dir as artifacts

    return artifacts()


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
    from mlops.contract import load_contract

    root = Path(root)
    path = root / paths.HOLDOUT
    if not path.is_file():
        raise ChampionError(f"`{paths.HOLDOUT}` is not in the workspace (run `dvc repro`)")
    lock = root / "dvc.lock"
    pinned = lock_md5(lock.read_text() if lock.is_file() else None, paths.HOLDOUT)
    actual = _md5(path.read_bytes())
    if pinned != actual:
        raise ChampionError(
            f"`{paths.HOLDOUT}` (md5 `{short(actual)}`) is not the holdout dvc.lock pins "
            f"(`{short(pinned)}`), so the candidate's metrics were not measured on it "
            "(run `dvc repro`)"
        )
    dvc_file = root / paths.DATA_DVC
    data_md5 = _data_md5(dvc_file.read_text() if dvc_file.is_file() else None)
    return _read(path, load_contract(root), actual, "this change's holdout", data_md5)


def _data_md5(text: str | None) -> str | None:
    try:
        return yaml.safe_load(text or "")["outs"][0]["md5"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def _show(root: Path, commit: str, path: str) -> str | None:
    proc = tools.run(["git", "show", f"{commit}:{path}"], cwd=root, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _version_contract(root: Path, version: registry.Version) -> Contract:
    from mlops.contract import Contract

    raw = version.metadata.get("contract")
    if raw is None:  # a tag written before tags carried the contract: the commit's file
        text = _show(root, version.commit, paths.CONTRACT)
        raw = yaml.safe_load(text) if text else None
    if raw is None:
        raise ChampionError(f"{version.tag}: no contract in its tag or at its commit")
    return Contract.from_dict(raw, source=f"{version.tag}'s contract")


def version_holdout(root: str | Path, version: registry.Version) -> Holdout:
    """``version``'s holdout: the md5 its commit's dvc.lock pins, fetched through DVC (cache or
    remote) and checked against that md5; kept in ``cache_dir()`` by md5."""
    root = Path(root)
    owner = f"{version.tag}'s holdout"
    md5 = lock_md5(_show(root, version.commit, "dvc.lock"), paths.HOLDOUT)
    if not md5:
        raise ChampionError(f"{owner}: dvc.lock at {version.commit[:10]} pins no `{paths.HOLDOUT}`")
    contract = _version_contract(root, version)
    dest = cache_dir() / "holdouts" / f"{md5}.csv"
    if not (dest.is_file() and _md5(dest.read_bytes()) == md5):
        _store(dest, _fetch(root, version, md5, owner))
    return _read(dest, contract, md5, owner, version.metadata.get("data_md5"))


def _fetch(root: Path, version: registry.Version, md5: str, owner: str) -> bytes:
    import dvc.api

    try:
        blob = dvc.api.read(paths.HOLDOUT, repo=str(root), rev=version.commit, mode="rb")
    except Exception as exc:  # DVC raises many types; all mean "not fetchable"
        raise ChampionError(
            f"{owner} (md5 `{short(md5)}`) cannot be fetched from the DVC remote: "
            + remote.reason(exc, f"was `dvc push` run at {version.commit[:10]}?")
        ) from exc
    if _md5(blob) != md5:
        raise ChampionError(
            f"{owner}: the DVC remote returned md5 `{short(_md5(blob))}`, but dvc.lock pins "
            f"`{short(md5)}`; refusing it"
        )
    return blob


def _store(dest: Path, blob: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(blob)
    tmp.replace(dest)


# --- the live model ----------------------------------------------------------------------------


def threshold_of(metadata: dict[str, Any]) -> float:
    """The decision threshold the version was evaluated and is served with."""
    try:
        return float(metadata["params"]["evaluate"]["threshold"])
    except (KeyError, TypeError, ValueError):
        return 0.5


def _threshold(model, version: registry.Version) -> float:
    """The artifact's own threshold; the tag's only for artifacts made before they carried it."""
    from mlops.model_io import threshold_of as carried

    found = carried(model)
    return threshold_of(version.metadata) if found is None else found


def load_live(root: str | Path, version: registry.Version, digest: str):
    """The live version's model: fetched through DVC, its sha256 checked against ``digest``
    (what models.yaml pins) and the tag's before it is loaded with the allow-list."""
    from mlops import model_io, registry

    if digest != version.digest:
        raise ChampionError(
            f"{version.tag}: {paths.MODELS_FILE} pins {digest} but the tag records "
            f"{version.digest}; refusing to load it"
        )
    try:
        path = registry.fetch_artifact(root, version, cache_dir())
        return model_io.load(path, expected_digest=digest)
    except MlopsError as exc:  # ArtifactError, ModelFileError: missing, altered, untrusted
        raise ChampionError(str(exc)) from exc


def _compatible(model, version: registry.Version, holdout: Holdout) -> Contract:
    """The live model's own contract, when the holdout can be scored with it."""
    from mlops.contract import contract_of

    mine, theirs = contract_of(model), holdout.contract
    if mine is None:  # an artifact from before models carried their contract
        mine = theirs
    problems = []
    if mine.task != theirs.task:
        problems.append(f"task {mine.task} vs {theirs.task}")
    if mine.target != theirs.target:
        problems.append(f"target {mine.target!r} vs {theirs.target!r}")
    if mine.classification and set(mine.classes) != set(theirs.classes):
        problems.append(f"classes {list(mine.classes)} vs {list(theirs.classes)}")
    if mine.task == "binary" and mine.positive != theirs.positive:
        problems.append(f"positive label {mine.positive!r} vs {theirs.positive!r}")
    absent = [c for c in mine.features if c not in holdout.frame.columns]
    if absent:
        problems.append("features absent from the holdout: " + ", ".join(absent))
    if problems:
        raise ChampionError(
            f"{version.tag} was trained on another contract than the candidate's ("
            + "; ".join(problems)
            + "), so it cannot be scored on the candidate's rows"
        )
    return mine


def score(model, version: registry.Version, holdout: Holdout) -> dict[str, float]:
    """The task's metrics of ``model`` on the holdout rows, as the evaluate stage computes them."""
    from mlops import scoring

    contract = _compatible(model, version, holdout)
    frame = holdout.frame
    try:
        p = scoring.predict(
            model, frame[list(contract.features)], contract, _threshold(model, version)
        )
        return scoring.score(frame[holdout.contract.target].to_numpy(), p, contract)
    except Exception as exc:  # a model that cannot read these rows: say so, never crash
        raise ChampionError(
            f"{version.tag} could not predict on the candidate's holdout "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc


class Scorer:
    """Scores live versions on one candidate's holdout, each version once.

    ``holdout`` is read on first use; when it cannot be, every ``champion`` call returns the
    same note.
    """

    def __init__(self, root: str | Path, read_holdout):
        self.root = Path(root)
        self._read = read_holdout
        self._holdout: Holdout | None = None
        self._why = ""
        self._done: dict[tuple[str, str], Champion] = {}

    @classmethod
    def for_workspace(cls, root: str | Path) -> Scorer:
        return cls(root, lambda: workspace_holdout(root))

    @classmethod
    def for_version(cls, root: str | Path, candidate: registry.Version) -> Scorer:
        return cls(root, lambda: version_holdout(root, candidate))

    def holdout(self) -> Holdout | None:
        if self._holdout is None and not self._why:
            try:
                self._holdout = self._read()
            except ChampionError as exc:
                self._why = str(exc)
        return self._holdout

    def champion(self, version: registry.Version, digest: str) -> Champion:
        key = (version.tag, digest)
        if key not in self._done:
            self._done[key] = self._score(version, digest)
        return self._done[key]

    def _score(self, version: registry.Version, digest: str) -> Champion:
        holdout = self.holdout()
        if holdout is None:
            return Champion(version.version, None, "", self._why)
        try:
            metrics = score(load_live(self.root, version, digest), version, holdout)
        except ChampionError as exc:
            return Champion(version.version, None, holdout.where, str(exc))
        return Champion(version.version, metrics, holdout.where)
