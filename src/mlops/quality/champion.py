"""Champion against challenger on the same rows: the live model scored on the candidate's holdout.

A version's recorded metrics were measured on *its own* holdout, a different split when the data
changed. To compare like with like, the live version's model is fetched through DVC (by the md5
its tag's commit pins, ``registry.fetch_artifact``), its sha256 checked against the digest
models.yaml pins before a byte is loaded, and scored with the task's metrics
(``mlops.evaluation.scoring``, what the evaluate stage uses) on the candidate's holdout rows:

- the PR report and ``mlops gate``: the workspace's ``artifacts/split/holdout.csv``
  (``workspace_holdout``);
- ``mlops check``: the candidate version's holdout, fetched through DVC by the md5 in its
  commit's ``dvc.lock`` and checked against it (``version_holdout``).

Rows neither trained on, proven: the split stage records every row's identity and side
(``artifacts/split/row_ids.csv``, pinned in dvc.lock). The live version's training-side rows
(train and validation) are read from *its* commit's row_ids file, fetched through DVC and checked
against its md5, and removed from the candidate's holdout; both models are then scored on what
is left (``Champion.candidate`` and ``Champion.metrics``), with the paired bootstrap standard
error of each difference (``Champion.se``). A live version whose commit records no row
identities cannot be compared this way, and says so.

Whatever goes wrong (no remote, a missing object, a digest that does not match, a model trained
on another contract) is a ``Champion`` without metrics and a note saying why: the caller falls
back to the recorded metrics and says so. Nothing here raises for those.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlops.core import paths, tools
from mlops.core.errors import MlopsError
from mlops.model import remote

if TYPE_CHECKING:  # pandas and scikit-learn load only when something is scored
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


@dataclass(frozen=True)
class Champion:
    """The live version scored on the candidate's holdout rows it never trained on, beside the
    candidate on the same rows, or why it could not be."""

    version: str
    metrics: dict[str, float] | None
    rows: str  # which rows, in words ("" when there were none to score on)
    note: str = ""  # set when ``metrics`` is None
    candidate: dict[str, float] | None = None  # the candidate's metrics on the same rows
    se: dict[str, float] = field(default_factory=dict)  # of candidate - live, per metric
    count: int = 0  # how many rows both were scored on

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
    actual = _md5(path.read_bytes())
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
    if not ids_path.is_file() or _md5(ids_path.read_bytes()) != ids_md5:
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


def _show(root: Path, commit: str, path: str) -> str | None:
    proc = tools.run(["git", "show", f"{commit}:{path}"], cwd=root, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _version_contract(root: Path, version: registry.Version) -> Contract:
    from mlops.formats.contract import Contract

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
    dest = _cached(root, version, paths.HOLDOUT, md5, owner)
    holdout = _read(dest, contract, md5, owner, version.metadata.get("data_md5"))
    ids = _pinned(root, version, paths.ROW_IDS, f"{version.tag}'s row identities")
    return holdout if ids is None else _with_ids(holdout, ids)


def _cached(root: Path, version: registry.Version, path: str, md5: str, owner: str) -> Path:
    """``path`` at ``version``'s commit, by the md5 its dvc.lock pins, kept in ``cache_dir()``."""
    dest = cache_dir() / "holdouts" / f"{md5}{Path(path).suffix}"
    if not (dest.is_file() and _md5(dest.read_bytes()) == md5):
        _store(dest, _fetch(root, version, md5, owner, path))
    return dest


def _pinned(root: Path, version: registry.Version, path: str, owner: str) -> bytes | None:
    """The bytes of a DVC output at ``version``'s commit (None when its dvc.lock pins none)."""
    md5 = lock_md5(_show(root, version.commit, "dvc.lock"), path)
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
    from mlops.model.thresholds import of_metadata

    return of_metadata(metadata)


def threshold_for(model, version: registry.Version) -> float:
    """The artifact's own threshold; the tag's only for artifacts made before they carried it."""
    from mlops.model.thresholds import of_model

    return of_model(model, version.metadata)


def load_live(root: str | Path, version: registry.Version, digest: str):
    """The live version's model: fetched through DVC, its sha256 checked against ``digest``
    (what models.yaml pins) and the tag's before it is loaded with the allow-list."""
    from mlops.model import model_io, registry

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
    from mlops.formats.contract import contract_of

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


def _predictions(model, tag: str, threshold: float, contract: Contract, frame: pd.DataFrame):
    from mlops.evaluation import scoring

    try:
        return scoring.predict(model, frame[list(contract.features)], contract, threshold)
    except Exception as exc:  # a model that cannot read these rows: say so, never crash
        raise ChampionError(
            f"{tag} could not predict on the candidate's holdout "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc


def _metrics(y, p, contract: Contract, threshold: float) -> dict[str, float]:
    """The task's metrics as the evaluate stage writes them (binary: with the threshold)."""
    from mlops.evaluation import scoring

    recorded = {"threshold": round(float(threshold), 6)} if contract.task == "binary" else {}
    return scoring.score(y, p, contract) | recorded


def score(model, version: registry.Version, holdout: Holdout) -> dict[str, float]:
    """The task's metrics of ``model`` on the holdout rows, as the evaluate stage computes them."""
    contract = _compatible(model, version, holdout)
    threshold = threshold_for(model, version)
    p = _predictions(model, version.tag, threshold, contract, holdout.frame)
    return _metrics(holdout.frame[holdout.contract.target].to_numpy(), p, contract, threshold)


@dataclass(frozen=True)
class Candidate:
    """The model being judged, and the threshold it answers with."""

    model: Any
    threshold: float
    name: str  # "this change" or its tag


def workspace_candidate(root: str | Path) -> Candidate:
    """The workspace's model: the artifact dvc.lock pins, with the threshold its metrics record."""
    from mlops.core.io_utils import read_json
    from mlops.model import model_io
    from mlops.model.thresholds import of_model

    root = Path(root)
    path, lock = root / paths.MODEL, root / "dvc.lock"
    pinned = lock_md5(lock.read_text() if lock.is_file() else None, paths.MODEL)
    if not path.is_file() or _md5(path.read_bytes()) != pinned:
        raise ChampionError(f"`{paths.MODEL}` is not the model dvc.lock pins (run `dvc repro`)")
    metrics = root / paths.METRICS
    recorded = {"metrics": read_json(metrics)} if metrics.is_file() else {}
    try:
        model = model_io.load(path)
        return Candidate(model, of_model(model, recorded), "this change")
    except MlopsError as exc:  # a model file outside the allow-list
        raise ChampionError(str(exc)) from exc


def version_candidate(root: str | Path, version: registry.Version) -> Candidate:
    """A registered version's model (fetched through DVC, sha256 checked against its tag)."""
    model = load_live(root, version, version.digest)
    return Candidate(model, threshold_for(model, version), version.tag)


def neither_trained_on(holdout: Holdout, trained: frozenset[str]):
    """The positions of the holdout rows outside ``trained`` (a numpy index array)."""
    import numpy as np

    if holdout.ids is None:
        raise ChampionError(
            f"the candidate's holdout has no row identities (`{paths.ROW_IDS}` is missing or "
            "not the one dvc.lock pins; run `dvc repro`)"
        )
    return np.flatnonzero([i not in trained for i in holdout.ids])


def compare(live_model, version: registry.Version, candidate: Candidate, holdout: Holdout,
            trained: frozenset[str]) -> Champion:  # fmt: skip
    """Live and candidate scored on the holdout rows the live version never trained on, with
    the paired standard error of each difference (candidate - live)."""
    from mlops.evaluation import uncertainty

    contract = _compatible(live_model, version, holdout)
    keep = neither_trained_on(holdout, trained)
    n, total = len(keep), len(holdout.frame)
    if n == 0:
        raise ChampionError(f"{version.tag} trained on every row of the candidate's holdout")
    frame = holdout.frame.iloc[keep]
    y = frame[holdout.contract.target].to_numpy()
    live_threshold = threshold_for(live_model, version)
    theirs = _predictions(live_model, version.tag, live_threshold, contract, frame)
    ours = _predictions(candidate.model, candidate.name, candidate.threshold, contract, frame)
    rows = f"{n:,} of {total:,} rows of {holdout.where} that neither version trained on"
    return Champion(
        version.version,
        _metrics(y, theirs, contract, live_threshold),
        rows,
        candidate=_metrics(y, ours, contract, candidate.threshold),
        se=uncertainty.paired_standard_errors(y, ours, theirs, contract),
        count=n,
    )


class Scorer:
    """Scores live versions on one candidate's holdout rows they never trained on, beside the
    candidate on the same rows; each version once.

    ``holdout`` and the candidate are read on first use; when either cannot be, every
    ``champion`` call returns the same note.
    """

    def __init__(self, root: str | Path, read_holdout, read_candidate=None):
        self.root = Path(root)
        self._read = read_holdout
        self._read_candidate = read_candidate or (lambda: workspace_candidate(root))
        self._holdout: Holdout | None = None
        self._candidate: Candidate | None = None
        self._why = ""
        self._done: dict[tuple[str, str], Champion] = {}
        self._version: registry.Version | None = None  # the candidate, when it is registered

    @classmethod
    def for_workspace(cls, root: str | Path) -> Scorer:
        return cls(root, lambda: workspace_holdout(root), lambda: workspace_candidate(root))

    @classmethod
    def for_version(cls, root: str | Path, candidate: registry.Version) -> Scorer:
        scorer = cls(
            root,
            lambda: version_holdout(root, candidate),
            lambda: version_candidate(root, candidate),
        )
        scorer._version = candidate
        return scorer

    def holdout(self) -> Holdout | None:
        if self._holdout is None and not self._why:
            try:
                self._holdout = self._read()
                self._candidate = self._read_candidate()
            except ChampionError as exc:
                self._holdout, self._why = None, str(exc)
        return self._holdout

    def champion(self, version: registry.Version, digest: str) -> Champion:
        key = (version.tag, digest)
        if key not in self._done:
            self._done[key] = self._remembered(version, digest)
        return self._done[key]

    def _remembered(self, version: registry.Version, digest: str) -> Champion:
        """A registered candidate's scores are kept by what decides them (``score_cache``)."""
        if self._version is None:
            return self._score(version, digest)
        from mlops.quality import score_cache

        return score_cache.remember(
            self._version, version, digest, lambda: self._score(version, digest), Champion
        )

    def _score(self, version: registry.Version, digest: str) -> Champion:
        holdout = self.holdout()
        if holdout is None or self._candidate is None:
            return Champion(version.version, None, "", self._why)
        try:
            live_model = load_live(self.root, version, digest)
            trained = training_ids(self.root, version)
            return compare(live_model, version, self._candidate, holdout, trained)
        except ChampionError as exc:
            return Champion(version.version, None, holdout.where, str(exc))
