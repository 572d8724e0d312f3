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

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core import paths
from mlops.core.errors import MlopsError
from mlops.quality.holdout import (
    ChampionError,
    Holdout,
    cache_dir,
    lock_md5,
    md5_of,
    training_ids,
    version_holdout,
    workspace_holdout,
)

if TYPE_CHECKING:  # pandas and scikit-learn load only when something is scored
    import pandas as pd

    from mlops.formats.contract import Contract
    from mlops.model import registry


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
    if not path.is_file() or md5_of(path.read_bytes()) != pinned:
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
        self._workspace = False  # the candidate is the workspace's

    @classmethod
    def for_workspace(cls, root: str | Path) -> Scorer:
        scorer = cls(root, lambda: workspace_holdout(root), lambda: workspace_candidate(root))
        scorer._workspace = True
        return scorer

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
        """A registered or the workspace's candidate's scores are kept by what decides them
        (``score_cache``)."""
        from mlops.quality import score_cache

        if self._version is not None:
            candidate = self._version
        elif self._workspace:
            candidate = score_cache.workspace(self.root)
        else:
            return self._score(version, digest)
        return score_cache.remember(
            candidate, version, digest, lambda: self._score(version, digest), Champion
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
