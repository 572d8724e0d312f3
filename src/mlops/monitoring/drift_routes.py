"""`mlops drift` beside the stable: the canary's and the shadow's predictions in the same window.

The stable's traffic is compared with its training data (``mlops.monitoring.drift``). Beside it,
from the same log and window, every other version that scored requests:

- a **canary** answered its own share of the requests (split by request id, so the same
  population): its scores against the stable's scores of the same window;
- a **shadow** scored requests the stable answered and was logged beside the answer under the
  same request id (``mlops.formats.predlog``): its scores against the stable's on exactly those
  requests, with, row by row, the agreement (same class; regression: within 5 % of the answers'
  standard deviation) and the mean shift (shadow - stable).

Each is also tested against its own holdout predictions at its commit (its prediction drift, as
the stable's is), when they can be fetched. Shown, never judged: the verdict and the exit code
stay the stable's. The score per task is the stable's (``drift_reference.PREDICTION``).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.core import paths
from mlops.core.errors import MlopsError
from mlops.formats.contract import Contract
from mlops.model import registry
from mlops.monitoring.evidently_drift import ColumnDrift, column_results, score_report

CANARY, SHADOW, STABLE = "canary", "shadow", "stable"
QUANTILES = (0.05, 0.5, 0.95)
SEED = 0


@dataclass
class RouteDrift:
    """One version's predictions in the window, beside the stable's."""

    route: str  # canary | shadow
    version: str
    rows: int  # rows it scored in the window (shadow: beside the stable's answers)
    summary: dict[str, float]  # mean and quantiles of the score; multiclass: class shares
    versus_stable: ColumnDrift | None = None  # its scores against the stable's
    versus_holdout: ColumnDrift | None = None  # its scores against its own holdout predictions
    agreement: float | None = None  # shadow: share of rows where it agrees with the answer
    mean_shift: float | None = None  # shadow, numeric scores: mean of (shadow - answer)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("versus_stable", "versus_holdout"):
            out[key] = None if getattr(self, key) is None else asdict(getattr(self, key))
        return out


def _labels(values: pd.Series) -> np.ndarray:
    """Class labels as text, the same whichever dtype the log reader gave the column (a column
    with nulls reads as floats: class 1 must still read "1", as the reference has it)."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() != values.notna().sum():
        return values.astype(str).to_numpy(dtype=object)
    return np.array([str(int(v)) if float(v).is_integer() else repr(float(v)) for v in numbers],
                    dtype=object)  # fmt: skip


def _scores(values: pd.Series, task: str) -> np.ndarray:
    if task == "multiclass":
        return _labels(values)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")


def _summary(scores: np.ndarray, task: str) -> dict[str, float]:
    if task == "multiclass":
        shares = pd.Series(scores).value_counts(normalize=True).sort_index()
        return {f"share_{k}": round(float(v), 4) for k, v in shares.items()}
    scores = scores[np.isfinite(scores)]
    if not len(scores):
        return {}
    out = {"mean": round(float(scores.mean()), 4)}
    out.update({f"p{int(q * 100):02d}": round(float(np.quantile(scores, q)), 4) for q in QUANTILES})
    return out


def _test(current: np.ndarray, reference: np.ndarray, task: str) -> ColumnDrift | None:
    """Evidently's value drift of ``current`` against ``reference`` (the stable's test)."""
    from mlops.monitoring.drift_reference import PREDICTION

    if task != "multiclass":
        current, reference = current[np.isfinite(current)], reference[np.isfinite(reference)]
    if len(current) < 2 or len(reference) < 2:
        return None
    _, name, categorical = PREDICTION[task]
    snapshot = score_report(current, reference, name, categorical)
    return column_results(snapshot.dict(), {name: "prediction"})[0]


def _sample(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    if len(frame) <= max_rows:
        return frame
    return frame.sample(max_rows, random_state=SEED)


def _agreement(shadow: pd.Series, answer: pd.Series, task: str) -> float | None:
    if not len(shadow):
        return None
    if task == "regression":
        live = pd.to_numeric(answer, errors="coerce").to_numpy("float64")
        scale = float(np.nanstd(live)) or 1.0
        near = np.abs(pd.to_numeric(shadow, errors="coerce").to_numpy("float64") - live)
        return round(float((near <= 0.05 * scale).mean()), 6)
    return round(float((_labels(shadow) == _labels(answer)).mean()), 6)


def _holdout_scores(root: Path, model: str, version: str, contract: Contract):
    """The version's holdout predictions (its prediction-drift reference), via DVC."""
    from mlops.monitoring import drift_reference as reference

    found = registry.get_version(root, model, version)
    text = reference._dvc_read(root, paths.PREDICTIONS, found)
    return reference._reference_scores(pd.read_csv(io.StringIO(text)), contract)


def _against_holdout(route: RouteDrift, scores, root, model, contract) -> None:
    try:
        reference = _holdout_scores(root, model, route.version, contract)
    except (MlopsError, KeyError, ValueError) as exc:
        route.notes.append(f"no holdout reference: {str(exc)[:200]}")
        return
    route.versus_holdout = _test(scores, reference, contract.task)


def _canaries(window, stable_scores, contract, max_rows) -> list[tuple[RouteDrift, np.ndarray]]:
    out = []
    canary = window[window["route"] == CANARY]
    for version, rows in canary.groupby("model_version", sort=True):
        scores = _scores(_sample(rows, max_rows)[_field(contract)], contract.task)
        test = _test(scores, stable_scores, contract.task)
        out.append((RouteDrift(CANARY, str(version), len(rows), _summary(scores, contract.task),
                               test), scores))  # fmt: skip
    return out


def _shadows(answered: pd.DataFrame, contract) -> list[tuple[RouteDrift, np.ndarray]]:
    """Each shadow version against the stable's answers on the same requests (paired rows)."""
    column = f"{SHADOW}.model_version"
    if column not in answered:
        return []
    field_name = _field(contract)
    out = []
    for version, rows in answered[answered[column].notna()].groupby(column, sort=True):
        shadow = _scores(rows[f"{SHADOW}.{field_name}"], contract.task)
        stable = _scores(rows[field_name], contract.task)
        route = RouteDrift(
            SHADOW,
            str(version),
            len(rows),
            _summary(shadow, contract.task),
            _test(shadow, stable, contract.task),
            agreement=_agreement(rows[f"{SHADOW}.prediction"], rows["prediction"], contract.task),
        )
        if contract.task != "multiclass":
            route.mean_shift = round(float(np.nanmean(shadow - stable)), 6)
        out.append((route, shadow))
    return out


def _field(contract: Contract) -> str:
    from mlops.monitoring.drift_reference import PREDICTION

    return PREDICTION[contract.task][0]


def compare(
    root: str | Path,
    env: str,
    model: str,
    version: str,
    contract: Contract,
    *,
    log_dir: str | Path,
    since: timedelta | None = None,
    now: datetime | None = None,
    max_rows: int = 100_000,
    stable_drift: ColumnDrift | None = None,
) -> list[RouteDrift]:
    """The stable ``version``'s answers, then the canaries and shadows of ``env``'s log window
    beside them; empty when no other version scored a request there. ``stable_drift``: the
    report's own prediction drift, shown as the stable's test against its holdout."""
    from mlops.feedback import join

    try:
        window = join.read_log(log_dir, env, since=since, now=now).frame
    except MlopsError:
        return []  # drift itself read this log and says what is wrong with it
    version_of = window["model_version"].astype(str)
    answered = _sample(window[(window["route"] == STABLE) & (version_of == version)], max_rows)
    if answered.empty:
        return []
    stable_scores = _scores(answered[_field(contract)], contract.task)
    found = _canaries(window, stable_scores, contract, max_rows) + _shadows(answered, contract)
    for route, scores in found:
        _against_holdout(route, scores, Path(root), model, contract)
    if not found:
        return []
    stable = RouteDrift(STABLE, version, len(answered), _summary(stable_scores, contract.task),
                        versus_holdout=stable_drift)  # fmt: skip
    return [stable, *(route for route, _ in found)]


def _test_text(test: ColumnDrift | None) -> str:
    if test is None:
        return "-"
    return f"{test.test} {test.score:.4g} ({'**moved**' if test.drifted else 'same'})"


def markdown(routes: list[dict[str, Any]], stable: str) -> list[str]:
    """The section of drift.md (from ``RouteDrift.to_dict`` rows); none without routes."""
    if not routes:
        return []
    lines = [
        "",
        f"### Beside the stable {stable}: canary and shadow predictions (shown, not judged)",
        "",
        "A shadow is compared with the stable on the very requests it scored beside the answer "
        "(same request ids); a canary with the stable's other requests of the same window.",
        "",
        "| route | version | rows | score | vs stable | vs its holdout | agreement | mean shift |",
        "|---|---|---:|---|---|---|---:|---:|",
    ]
    for r in routes:
        summary = ", ".join(f"{k} {v:g}" for k, v in r["summary"].items())
        agreement = "-" if r["agreement"] is None else f"{r['agreement']:.1%}"
        shift = "-" if r["mean_shift"] is None else f"{r['mean_shift']:+.4f}"
        lines.append(
            f"| {r['route']} | {r['version']} | {r['rows']:,} | {summary} | "
            f"{_test_text(_drift_of(r['versus_stable']))} | "
            f"{_test_text(_drift_of(r['versus_holdout']))} | {agreement} | {shift} |"
        )
    lines += [f"- {r['route']} {r['version']}: {note}" for r in routes for note in r["notes"]]
    return lines


def _drift_of(found: dict[str, Any] | None) -> ColumnDrift | None:
    return None if found is None else ColumnDrift(**found)
