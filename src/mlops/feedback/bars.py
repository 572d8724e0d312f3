"""The live bars `mlops performance` judges each served version by.

``monitoring.min_live`` in ``environments/<env>.yaml`` maps a metric to a number (used as is)
or to ``auto``: the bar of version V is V's registered holdout figure minus
``monitoring.live_tolerance`` (default 0.25) of its lift over the trivial baseline scored on
the same holdout (``live_bar``). A version that loses more than a quarter of
what it adds over a constant answer is flagged, and no bar is ever one a constant answer meets.
Unset (or ``min_live: auto``): ``auto`` for the task's headline metric and for every
``gates.min`` metric the task measures live.

When some of V's holdout rows came from labelled live traffic (`mlops data refresh`; the
``traffic`` entry of its baselines) and they are enough to judge, the figure and the trivial
baseline are V's on those rows: the population it serves live. A retrain after the population
moved is otherwise held to a figure measured mostly on the old population, which may be easier
or harder than the new one.

A version whose tag records no holdout figure or baseline for the metric (registered before
baselines were recorded, or not registered at all) falls back to ``gates.min`` for that metric
when it has one, else is not judged on it; its bar says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mlops.evaluation.metric_names import HEADLINE, LOWER_IS_BETTER
from mlops.formats.environments import Environment
from mlops.formats.environments_parse import AUTO


@dataclass(frozen=True)
class Bar:
    """One metric's bar for one version: its value (None: not judged) and where it comes from."""

    metric: str
    value: float | None
    source: str  # "set" (a number in min_live) | "auto" | "gates.min" | "none"
    how: str  # one line a reader can check
    version: str | None = None  # auto: the version whose holdout figure it is derived from
    holdout: float | None = None
    trivial: float | None = None
    tolerance: float | None = None
    rows: int | None = None  # auto from the holdout rows that came from live traffic: how many

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k == "value"}


def configured(env: Environment, task: str, live: tuple[str, ...]) -> tuple[dict, str]:
    """(metric -> number or ``auto``, where that is said) for ``env``."""
    if env.monitoring.min_live:
        return dict(env.monitoring.min_live), f"{env.source}: monitoring.min_live"
    names = [HEADLINE[task], *(m for m in env.gates.min if m in live)]
    where = f"{env.source}: auto (monitoring.min_live unset: the headline metric and gates.min)"
    return dict.fromkeys(names, AUTO), where


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def live_bar(metric: str, holdout: float, trivial: float, tolerance: float = 0.25) -> float:
    """A default bar for ``metric`` live: the holdout figure minus ``tolerance`` of its lift
    over the trivial baseline (plus, for rmse, mae, log_loss), so a version keeps at least
    ``1 - tolerance`` of its lift and a trivial model never meets the bar; when the holdout
    does not beat the baseline, the bar is the baseline itself."""
    lower = metric in LOWER_IS_BETTER
    lift = (trivial - holdout) if lower else (holdout - trivial)
    if not lift > 0:
        return round(float(trivial), 6)
    step = tolerance * lift
    return round(float(holdout + step if lower else holdout - step), 6)


def derive(
    metric: str, version: str, holdout: Any, trivial: Any, tolerance: float, rows: int | None = None
) -> Bar | None:
    """The ``auto`` bar of ``version`` for ``metric``; None without both figures. ``rows``: the
    figures are on that many holdout rows from live traffic (None: the whole holdout)."""
    if not (_number(holdout) and _number(trivial)):
        return None
    value = live_bar(metric, float(holdout), float(trivial), tolerance)
    lower = metric in LOWER_IS_BETTER
    where = "holdout" if rows is None else f"holdout (its {rows:,} rows from live traffic)"
    if value == round(float(trivial), 6):
        how = (f"auto: {version}'s {where} {metric} {holdout:.4g} does not beat its trivial "
               f"baseline {trivial:.4g}: the bar is the baseline")  # fmt: skip
    else:
        sign, side = ("+", "margin under") if lower else ("-", "lift over")
        how = (f"auto: {version}'s {where} {metric} {holdout:.4g} {sign} {tolerance:g} x its "
               f"{side} the trivial baseline {trivial:.4g}")  # fmt: skip
    bar = Bar(metric, value, AUTO, how, version, float(holdout), float(trivial), tolerance, rows)
    return bar


def _on_traffic(metric: str, version: str, base: dict[str, Any], tolerance: float) -> Bar | None:
    """The bar from the holdout rows that came from live traffic, when they can be judged."""
    traffic = base.get("traffic")
    if not isinstance(traffic, dict) or traffic.get("too_small"):
        return None
    model, trivial = traffic.get("model") or {}, traffic.get("trivial") or {}
    rows = traffic.get("rows")
    if not isinstance(rows, int):
        return None
    return derive(metric, version, model.get(metric), trivial.get(metric), tolerance, rows)


def resolve(
    wanted: dict[str, float | str],
    version: str,
    holdout: dict[str, Any],
    base: dict[str, Any],
    env: Environment,
) -> dict[str, Bar]:
    """Each wanted metric's bar for ``version`` (see the module doc); ``holdout``: its holdout
    metrics, ``base``: its baselines (``trivial``, and ``traffic`` when recorded)."""
    out = {}
    trivial = base.get("trivial") or {}
    for metric, spec in wanted.items():
        if spec != AUTO:
            out[metric] = Bar(metric, float(spec), "set", f"{env.source}: monitoring.min_live")
            continue
        tolerance = env.monitoring.live_tolerance
        bar = _on_traffic(metric, version, base, tolerance) or derive(
            metric, version, holdout.get(metric), trivial.get(metric), tolerance
        )
        out[metric] = bar or _fallback(metric, version, env)
    return out


def _fallback(metric: str, version: str, env: Environment) -> Bar:
    missing = f"{version}'s tag records no holdout {metric} and trivial baseline"
    if metric in env.gates.min:
        return Bar(metric, env.gates.min[metric], "gates.min", f"{missing}: {env.source} gates.min")
    return Bar(metric, None, "none", f"{missing}: no bar, not judged")


def thresholds(bars: dict[str, Bar]) -> dict[str, float]:
    """The bars that judge: metric -> value."""
    return {m: b.value for m, b in bars.items() if b.value is not None}
