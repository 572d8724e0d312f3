"""The live error of canary and stable from the outcomes that arrived: per labelled request, 1
when the answer was wrong (classification) or the absolute error in outcome standard deviations
(regression). Read from the prediction log joined to the outcome store (``mlops.feedback``), for
the two versions models.yaml pins, since the canary's first logged prediction (both routes over
the same period)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlops.core.errors import MlopsError
from mlops.formats import predlog
from mlops.formats.models_file import Deployment
from mlops.monitoring.sequential import Moments


def losses(frame: pd.DataFrame, contract) -> np.ndarray:
    """Per labelled row: wrong (1) or right (0); regression: |error| in outcome SDs."""
    from mlops.feedback.performance import _codes

    if contract.classification:
        truth = _codes(frame[contract.target], contract, "the outcomes")
        predicted = _codes(frame["prediction"], contract, "the prediction log")
        return (truth != predicted).astype("float64")
    predicted = pd.to_numeric(frame["prediction"], errors="coerce").to_numpy(dtype="float64")
    truth = frame[contract.target].to_numpy(dtype="float64")
    scale = float(np.std(truth)) or 1.0
    return np.abs(predicted - truth) / scale


def _route(frame: pd.DataFrame, version: str, route: str) -> pd.DataFrame:
    return frame[(frame["model_version"].astype(str) == version) & (frame["route"] == route)]


def pair(
    root: Path,
    env: str,
    deployment: Deployment,
    log_dir: str | Path | None = None,
    store: str | Path | None = None,
) -> tuple[tuple[Moments, Moments] | None, str]:
    """((canary, stable) moments of the live error, how they were read) or (None, why not)."""
    from mlops.feedback import join, outcomes
    from mlops.formats.contract import load_contract

    log_dir = Path(log_dir) if log_dir is not None else root / predlog.DEFAULT_DIR
    if not predlog.files(log_dir, env):
        return None, f"no prediction log in {log_dir / env}"
    try:
        contract = load_contract(root)
        known = outcomes.load(root, env, contract, store)
        if known.empty:
            return None, f"no outcomes stored for {env} yet (`mlops outcomes ingest`)"
        logged = join.read_log(log_dir, env).frame
    except MlopsError as exc:
        return None, f"cannot read the log or the outcomes: {exc}"
    canary_rows = _route(logged, deployment.canary.version, "canary")
    if canary_rows.empty:
        return None, "the canary has no logged predictions yet"
    since = canary_rows["ts"].min()
    labelled = join.label(logged[logged["ts"] >= since], known, contract.target)
    labelled = labelled[labelled[contract.target].notna()]
    out = []
    for version, route in ((deployment.canary.version, "canary"),
                           (deployment.stable.version, "stable")):  # fmt: skip
        rows = _route(labelled, version, route)
        out.append(Moments.of(losses(rows, contract)) if len(rows) else Moments(0, 0.0, 0.0))
    how = (
        "wrong answers per labelled request"
        if contract.classification
        else ("absolute error in outcome SDs")
    )
    return (out[0], out[1]), f"{how}, outcomes joined to the log since {since}"
