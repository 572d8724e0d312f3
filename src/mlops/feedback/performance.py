"""Live performance: logged predictions joined to their outcomes, per version and route.

For every (model_version, route) in the window, the task's metrics on the labelled predictions
with a 95 % interval (``mlops.feedback.intervals``), the row count, the label coverage (labelled
share of the logged predictions), the version's holdout metrics from its registry tag and, beside
them, its baselines on the same holdout (``trivial`` and ``linear``, ``mlops.stages.baselines``).

Thresholds (bars), in ``environments/<env>.yaml``::

    monitoring:
      min_live: {roc_auc: auto}   # or a number; auto: from each version's holdout and baseline
      live_tolerance: 0.25        # auto: the share of its lift over the baseline it may lose
      min_outcomes: 200           # fewer labelled rows: "not enough outcomes yet", no verdict

Each group is judged by its own version's bars (``mlops.feedback.bars``): an ``auto`` bar is
derived from that version's holdout figure and trivial baseline, and every group says how.

A bar is judged like the gates, with its uncertainty: per metric, ``ok`` when the point
estimate meets the bar; ``within_noise`` when it is worse but the 95 % interval still reaches
the bar (shown with a warning, the group does not fail: the shortfall is within noise); ``below``
when the whole interval is worse than the bar (below it; above it for rmse, mae, log_loss). A
group fails only on a ``below`` metric; one ``within_noise`` metric makes it "within noise of its
bar". Only the
versions models.yaml deploys to the environment now (stable and canary) decide the verdict: the
rows of a version already replaced are shown, marked "no longer deployed", so a fixed problem
stops alarming as soon as its fix is deployed, not when its rows leave the window. A threshold
on a metric the task does not measure live is listed as such, not applied.

Exit codes: 0 no judged group fails (ok, within noise of its bar, or nothing to judge yet),
1 a group is below a threshold beyond noise, 2 the measurement could not be made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.core import paths, tools
from mlops.core.durations import parse_duration
from mlops.core.errors import MlopsError
from mlops.evaluation.metric_names import LOWER_IS_BETTER
from mlops.feedback import bars, intervals, join, outcomes
from mlops.formats import environments, models_file, predlog
from mlops.formats.contract import Contract, load_contract
from mlops.model import registry

DEFAULT_OUT_DIR = "reports/performance"
OK, BELOW, NOT_ENOUGH = "ok", "below threshold", "not enough outcomes yet"
WITHIN_NOISE = "within noise of its bar"  # a point below a bar its 95 % interval still reaches
# per metric (``--json``: ``verdict``): ok, within_noise, below (only ``below`` fails)
MET, NOISE, MISSED = "ok", "within_noise", "below"
# what each task measures live (multiclass log_loss: when the log holds every class's
# probability, as `mlops serve` writes it)
LIVE_METRICS = {
    "binary": ("roc_auc", "f1", "precision", "recall", "accuracy", "log_loss"),
    "multiclass": ("accuracy", "macro_f1", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}


@dataclass
class Group:
    version: str
    route: str
    predictions: int
    labelled: int
    status: str
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployed: bool = True  # deployed to the environment now (models.yaml): it decides the verdict
    bars: dict[str, dict[str, Any]] = field(default_factory=dict)  # metric -> its bar, and how

    @property
    def coverage(self) -> float:
        return self.labelled / self.predictions if self.predictions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "coverage": round(self.coverage, 6)}


@dataclass
class Result:
    env: str
    model: str
    task: str
    since: str
    thresholds: dict[str, float | str]  # as configured: metric -> number or "auto"
    threshold_source: str
    min_outcomes: int
    groups: list[Group]
    logged: int  # records in the log (all time)
    outcomes: int  # stored outcomes (all time)
    unused_thresholds: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        statuses = {g.status for g in self.groups if g.deployed}
        return next((s for s in (BELOW, WITHIN_NOISE, OK) if s in statuses), NOT_ENOUGH)

    @property
    def exit_code(self) -> int:
        return 1 if self.status == BELOW else 0

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "groups"}
        return {**out, "status": self.status, "groups": [g.to_dict() for g in self.groups]}


# ---------------------------------------------------------------------------- metrics


def _codes(values: pd.Series, contract: Contract, what: str) -> np.ndarray:
    """Class labels as their index in ``contract.classes``, whatever the join made of them
    (1.0 after a merge is class 1); integer codes keep a million rows cheap."""
    if contract.target_dtype() == "int64":
        values = pd.to_numeric(values, errors="coerce")
    else:
        values = values.astype("str")
    codes = pd.Categorical(values, categories=list(contract.classes)).codes
    if (codes < 0).any():
        unknown = sorted({str(v) for v in values[codes < 0][:1000]})
        raise join.LogError(
            f"{what} holds {unknown[:5]}, not classes of contract.yaml {list(contract.classes)}; "
            "were these predictions made under another contract? (--since or --log-dir picks "
            "another window or folder)"
        )
    return codes.astype("int64")


def _classification(frame: pd.DataFrame, contract: Contract) -> dict[str, intervals.Estimate]:
    k = len(contract.classes)
    truth = _codes(frame[contract.target], contract, "the outcomes")
    predicted = _codes(frame["prediction"], contract, "the prediction log")
    cm = intervals.confusion(truth, predicted, k)
    out = {"accuracy": intervals.bootstrap(cm, intervals.accuracy)}
    if contract.task == "multiclass":
        out["macro_f1"] = intervals.bootstrap(cm, intervals.macro_f1)
        proba = _class_probabilities(frame, k)
        if proba is not None:
            out["log_loss"] = intervals.multiclass_log_loss(truth, proba)
        return out
    pos = list(contract.classes).index(contract.positive)
    for name, fn in (("f1", intervals.f1), ("precision", intervals.precision),
                     ("recall", intervals.recall)):  # fmt: skip
        out[name] = intervals.bootstrap(cm, lambda m, fn=fn: fn(m, pos))
    score = pd.to_numeric(frame["probability"], errors="coerce").to_numpy(dtype="float64")
    if not np.isnan(score).any():
        positive = (truth == pos).astype("int64")
        auc = intervals.roc_auc(positive, score)
        if auc is not None:
            out["roc_auc"] = auc
        out["log_loss"] = intervals.log_loss(positive, score)
    return out


def _class_probabilities(frame: pd.DataFrame, k: int) -> np.ndarray | None:
    """The logged per-class probabilities as an (n, k) array, columns in the contract's class
    order (the order the server logs them in); None unless every row has k of them (a log
    written before they were logged, or under another class list)."""
    if join.CLASS_PROBABILITIES not in frame:
        return None
    lists = frame[join.CLASS_PROBABILITIES].tolist()
    if any(p is None or (isinstance(p, float) and p != p) or len(p) != k for p in lists):
        return None
    return np.asarray([np.asarray(p, dtype="float64") for p in lists]).reshape(len(lists), k)


def _regression(frame: pd.DataFrame, contract: Contract) -> dict[str, intervals.Estimate]:
    predicted = pd.to_numeric(frame["prediction"], errors="coerce").to_numpy(dtype="float64")
    truth = frame[contract.target].to_numpy(dtype="float64")
    errors = predicted - truth
    out = {"rmse": intervals.rmse(errors), "mae": intervals.mean(np.abs(errors))}
    r2 = intervals.r2(errors, truth)
    return out if r2 is None else {"r2": r2, **out}


def live_metrics(frame: pd.DataFrame, contract: Contract) -> dict[str, intervals.Estimate]:
    """The task's live metrics on labelled rows (prediction, probability, target)."""
    if contract.classification:
        return _classification(frame, contract)
    return _regression(frame, contract)


def _passes(name: str, value: float, threshold: float) -> bool:
    return bool(value <= threshold if name in LOWER_IS_BETTER else value >= threshold)


def verdict(name: str, est: dict[str, float], threshold: float) -> str:
    """``ok`` (the point meets the bar), ``within_noise`` (it does not, but the 95 % interval
    reaches it) or ``below`` (the whole interval is worse; an interval that could not be
    computed reaches nothing)."""
    if _passes(name, est["value"], threshold):
        return MET
    reach = est["low"] if name in LOWER_IS_BETTER else est["high"]  # the interval's best end
    return NOISE if _passes(name, reach, threshold) else MISSED


def judge(
    group: pd.DataFrame,
    contract: Contract,
    thresholds: dict[str, float],
    min_outcomes: int,
    holdout: dict[str, float],
    baselines: dict[str, dict[str, float]] | None = None,
) -> tuple[str, dict[str, dict[str, Any]]]:
    """A group's status and its metric table (value, interval, holdout, the holdout's
    baselines, threshold, verdict, passed: not ``below``)."""
    labelled = group[group[contract.target].notna()]
    if len(labelled) < min_outcomes:
        return NOT_ENOUGH, {}
    table = {}
    for name, est in live_metrics(labelled, contract).items():
        row: dict[str, Any] = {**est.to_dict(), "holdout": holdout.get(name)}
        for kind in ("trivial", "linear"):
            row[kind] = (baselines or {}).get(kind, {}).get(name)
        if name in thresholds:
            said = verdict(name, row, thresholds[name])
            row |= {"threshold": thresholds[name], "verdict": said, "passed": said != MISSED}
            if row["trivial"] is not None and _passes(name, row["trivial"], thresholds[name]):
                row["bar_met_by_trivial"] = True  # a constant answer would pass this bar
        table[name] = row
    said = {r.get("verdict") for r in table.values()}
    return (BELOW if MISSED in said else WITHIN_NOISE if NOISE in said else OK), table


# ---------------------------------------------------------------------------- inputs


def holdout_metrics(root: Path, model: str, key: str = "metrics") -> dict[str, dict[str, Any]]:
    """version -> its registered holdout metrics (``key="baselines"``: its baselines on the
    same holdout); {} outside a Git repository."""
    try:
        versions = registry.list_versions(root, model)
    except tools.ToolError:
        return {}
    return {v.version: v.metadata.get(key, {}) for v in versions}


def deployed_versions(root: Path, env: str, model: str) -> set[str] | None:
    """The versions models.yaml deploys to ``env`` now (stable, canary); None when it deploys
    none or cannot be read (then every version in the window is judged)."""
    try:
        deployment = models_file.load(root / paths.MODELS_FILE).deployment(env, model)
    except (MlopsError, OSError):
        return None
    if deployment is None:
        return None
    return {deployment.stable.version, *([deployment.canary.version] if deployment.canary else [])}


def measure(
    labelled: pd.DataFrame,
    contract: Contract,
    wanted: dict[str, float | str],
    env: environments.Environment,
    holdout: dict[str, dict[str, float]],
    baselines: dict[str, dict[str, Any]] | None = None,
) -> list[Group]:
    """One group per (version, route), each judged by its version's bars."""
    groups = []
    for (version, route), group in labelled.groupby(["model_version", "route"], sort=True):
        version = str(version)
        recorded, base = holdout.get(version, {}), (baselines or {}).get(version) or {}
        own = bars.resolve(wanted, version, recorded, base, env)
        status, table = judge(group, contract, bars.thresholds(own),
                              env.monitoring.min_outcomes, recorded, base)  # fmt: skip
        n = int(group[contract.target].notna().sum())
        shown = {m: b.to_dict() for m, b in own.items()}
        groups.append(Group(version, str(route), len(group), n, status, table, bars=shown))
    return groups


def run(
    root: str | Path = ".",
    env: str = "production",
    *,
    since: str | None = None,
    log_dir: str | Path | None = None,
    store: str | Path | None = None,
    now: datetime | None = None,
) -> Result:
    """Measure ``env``'s live performance (see the module doc). Raises ``MlopsError``."""
    root = Path(root)
    environment = environments.load(env, root)
    contract = load_contract(root)
    now = now or datetime.now(UTC)  # one moment for the window's start and end
    window = parse_duration(since, now) if since else None
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    log_dir = Path(log_dir) if log_dir is not None else root / predlog.DEFAULT_DIR
    logged = join.read_log(log_dir, env, since=window, now=now)
    seconds["read_log"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    known = outcomes.load(root, env, contract, store)
    seconds["read_outcomes"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    labelled = join.label(logged.frame, known, contract.target)
    seconds["join"] = round(time.perf_counter() - t0, 3)
    wanted, source = bars.configured(environment, contract.task, LIVE_METRICS[contract.task])
    t0 = time.perf_counter()
    holdout = holdout_metrics(root, contract.model)
    baselines = holdout_metrics(root, contract.model, "baselines")
    groups = measure(labelled, contract, wanted, environment, holdout, baselines)
    live = deployed_versions(root, env, contract.model)
    for group in groups:
        group.deployed = live is None or group.version in live
    # beside them, what a shadow version would have answered on the same requests: shown, not
    # judged (it answered nobody)
    shadows = measure(join.shadow_rows(labelled), contract, wanted, environment, holdout, baselines)
    for group in shadows:
        group.deployed = False
    groups += shadows
    seconds["metrics"] = round(time.perf_counter() - t0, 3)
    return Result(
        env=env,
        model=contract.model,
        task=contract.task,
        since=since or "",
        thresholds=wanted,
        threshold_source=source,
        min_outcomes=environment.monitoring.min_outcomes,
        groups=groups,
        logged=logged.records,
        outcomes=len(known),
        unused_thresholds=sorted(set(wanted) - set(LIVE_METRICS[contract.task])),
        seconds=seconds,
    )
