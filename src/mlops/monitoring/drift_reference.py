"""The reference side of a drift comparison: a version's holdout features and predictions,
fetched through DVC at the version's commit, and the contract they are compared under."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.core import paths, tools
from mlops.core.errors import MlopsError
from mlops.formats.contract import CONTRACT_FILE, Contract, load_contract
from mlops.model import registry

DEFAULT_MAX_ROWS = 100_000
SAMPLE_SEED = 0
# The prediction drift compares, per task: (log field, its name in the reports, categorical).
PREDICTION = {
    "binary": ("probability", "probability", False),
    "multiclass": ("prediction", "predicted_class", True),
    "regression": ("prediction", "predicted_value", False),
}


class DriftInputError(MlopsError):
    """The logs or the reference cannot be compared (wrong schema, not fetchable, ...)."""


@dataclass
class Reference:
    features: pd.DataFrame
    scores: np.ndarray
    commit: str
    rows: int
    contract: Contract | None = None


def _sample_contract() -> Contract:
    from mlops.data import sample

    return sample.contract()


def version_contract(root: Path, version: registry.Version) -> Contract:
    """The contract at the version's commit: the table it was trained on. A version made before
    contract.yaml existed was trained on the bundled sample."""
    import yaml

    proc = tools.run(["git", "show", f"{version.commit}:{CONTRACT_FILE}"], cwd=root, check=False)
    if proc.returncode != 0:
        return _sample_contract()
    where = f"{CONTRACT_FILE} at {version.tag} ({version.commit[:10]})"
    return Contract.from_dict(yaml.safe_load(proc.stdout), source=where)


def _dvc_read(root: Path, path: str, version: registry.Version) -> str:
    import dvc.api

    try:
        return dvc.api.read(path, repo=str(root), rev=version.commit)
    except Exception as exc:  # DVC raises many types; all mean "not fetchable"
        raise DriftInputError(
            f"{version.tag}: cannot fetch the reference {path} at commit {version.commit[:10]} "
            f"through DVC ({type(exc).__name__}: {str(exc)[:300]}); was `dvc push` run after "
            "training, and is the DVC remote reachable (`dvc remote list`)?"
        ) from exc


def load_reference(
    root: str | Path,
    version: registry.Version,
    max_rows: int = DEFAULT_MAX_ROWS,
    contract: Contract | None = None,
) -> Reference:
    """The training split and holdout predictions at ``version``'s commit, via DVC;
    ``contract``: the version's (``version_contract``), read when not given."""
    root = Path(root)
    schema = contract or version_contract(root, version)
    train = pd.read_csv(io.StringIO(_dvc_read(root, paths.TRAIN, version)))
    missing = [c for c in schema.features if c not in train.columns]
    if missing:
        raise DriftInputError(
            f"{version.tag}: {paths.TRAIN} at {version.commit[:10]} lacks columns {missing}; "
            "the data schema changed since that version, so its traffic cannot be compared "
            "with it. Promote a version trained on the current schema"
        )
    predictions = pd.read_csv(io.StringIO(_dvc_read(root, paths.PREDICTIONS, version)))
    rows = len(train)
    if rows > max_rows:
        train = train.sample(n=max_rows, random_state=SAMPLE_SEED)
    frame = train[list(schema.features)].copy()
    for col in (c for c in schema.columns if c.feature):
        frame[col.name] = (
            frame[col.name].astype("float64") if col.numeric else frame[col.name].astype("str")
        )
    return Reference(frame, _reference_scores(predictions, schema), version.commit, rows, schema)


def comparable(contract: Contract, also_personal: tuple[str, ...] = ()) -> Contract:
    """``contract`` with its personal columns (and ``also_personal``) out of the comparison."""
    personal = set(contract.personal) | set(also_personal)
    columns = tuple(
        dataclasses.replace(c, feature=False, personal=True) if c.name in personal else c
        for c in contract.columns
    )
    return dataclasses.replace(contract, columns=columns)


def _workspace_personal(root: Path) -> tuple[str, ...]:
    """The workspace contract's personal columns: what the server hashes today."""
    try:
        return load_contract(root).personal
    except MlopsError:
        return ()


def _reference_scores(predictions: pd.DataFrame, contract: Contract) -> np.ndarray:
    """The holdout's predictions in the form the log keeps them (``PREDICTION``)."""
    if contract.task == "binary":
        return predictions["proba"].to_numpy(dtype="float64")
    if contract.task == "multiclass":
        return predictions["prediction"].astype("str").to_numpy(dtype=object)
    return predictions["prediction"].to_numpy(dtype="float64")
