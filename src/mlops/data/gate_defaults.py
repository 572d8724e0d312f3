"""Quality gates `mlops data adopt` writes into environments/*.yaml for the adopted task.

Defaults ask a model to beat a trivial one by a margin; people set the real bar in review.
``production`` gets the stricter set, every other environment the lenient one; latency and
model-size limits already in the file are kept.

The live bar, ``monitoring.min_live`` (`mlops performance` on outcomes), is ``auto`` on the
task's headline metric: derived for each served version from its own holdout figure and trivial
baseline (``mlops.feedback.bars``), so it follows what the model really scores, never a number
typed before any model was trained (an r2 0.2 bar under a holdout r2 of 0.98 alarms on nothing).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from mlops.evaluation.metric_names import HEADLINE
from mlops.formats.contract import Contract


def _slice_gap(metric: str, base: float) -> dict[str, Any]:
    """The gap allowed between the best and the worst segment. No widening for small segments
    here: the gate itself judges the gap with its interval (``mlops.quality.gates``), failing only
    beyond noise at 95 %, and reports a segment under 30 holdout rows as too small to judge;
    widening the bar as well would count the same noise twice."""
    return {"max_slice_gap": {metric: base}}


def _binary(strict: bool, stats: dict[str, float], segment: bool) -> dict[str, Any]:
    gates = {
        "min": {"roc_auc": 0.70 if strict else 0.65},
        "max_regression": {"roc_auc": 0.02},
    }
    return gates | (_slice_gap("roc_auc", 0.10) if segment else {})


def _multiclass(strict: bool, stats: dict[str, float], segment: bool) -> dict[str, Any]:
    floor = min(0.99, round(stats["majority_share"] + (0.05 if strict else 0.02), 2))
    gates = {"min": {"accuracy": floor}, "max_regression": {"macro_f1": 0.02}}
    return gates | (_slice_gap("accuracy", 0.10) if segment else {})


def _regression(strict: bool, stats: dict[str, float], segment: bool) -> dict[str, Any]:
    tolerance = float(f"{0.05 * stats['target_std']:.3g}") or 0.001
    gates = {"min": {"r2": 0.30 if strict else 0.20}, "max_regression": {"rmse": tolerance}}
    return gates | (_slice_gap("r2", 0.20) if segment else {})


BUILDERS = {"binary": _binary, "multiclass": _multiclass, "regression": _regression}
_SLICES = (
    "; max_slice_gap: {base}, judged with its 95 % interval (a gap within noise never fails; a "
    "segment under 30 holdout rows is reported too small to judge)"
)
_LIVE = (
    "; live (monitoring.min_live): {metric} auto, i.e. each served version's holdout {metric} "
    "minus a quarter of its lift over the trivial baseline ({baseline})"
)
EXPLAIN = {
    "binary": "min roc_auc 0.65 (0.70 in production): better than chance (0.5) by a margin"
    + _LIVE.format(metric="roc_auc", baseline="0.5"),
    "multiclass": "min accuracy: the majority class's share + 0.02 (+ 0.05 in production), "
    "i.e. better than always answering the most common class"
    + _LIVE.format(metric="accuracy", baseline="the majority share"),
    "regression": "min r2 0.20 (0.30 in production): better than predicting the mean; "
    "max_regression rmse: 5% of the target's standard deviation"
    + _LIVE.format(metric="r2", baseline="r2 0, the mean"),
}


def explain(contract: Contract) -> str:
    """What adopt's defaults for this contract are, in a sentence."""
    base = "0.20" if contract.task == "regression" else "0.10"
    return EXPLAIN[contract.task] + (_SLICES.format(base=base) if contract.segment else "")


COMMENT = "# gates for a {task} task, written by `mlops data adopt`: set the bar your use needs"


def stats(df: pd.DataFrame, contract: Contract) -> dict[str, float]:
    """What the defaults depend on: the majority class's share, or the target's spread."""
    y = df[contract.target]
    if contract.classification:
        return {"majority_share": float(y.value_counts(normalize=True).iloc[0])}
    return {"target_std": float(y.std())}


def _flow(mapping: dict[str, float | str]) -> str:
    shown = (v if isinstance(v, str) else f"{v:g}" for v in mapping.values())
    return "{" + ", ".join(f"{k}: {v}" for k, v in zip(mapping, shown, strict=True)) + "}"


WHY = {
    "min": "at least (at most for rmse, mae, log_loss)",
    "max_regression": "versus the version live in this environment",
    "max_slice_gap": "best minus worst segment",
    "max_latency_ms_p95": "in-process predict of 1 row (evaluate)",
    "max_model_mb": "model file size",
}


def block(contract: Contract, gates: dict[str, Any]) -> str:
    """The ``gates:`` block of one environment file (``env_gates``), as YAML text."""
    lines = [COMMENT.format(task=contract.task), "gates:"]
    for key, value in gates.items():
        shown = _flow(value) if isinstance(value, dict) else f"{value:g}"
        lines.append(f"  {f'{key}: {shown}':<38} # {WHY[key]}")
    return "\n".join(lines) + "\n"


LIVE_COMMENT = "# auto: the version's holdout - 0.25 x its lift over the trivial baseline"


def env_gates(
    contract: Contract,
    env: str,
    stats: dict[str, float],
    kept: dict[str, Any],
    gates: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An environment's gates: ``gates`` when given, else the task's defaults; latency and size
    limits from ``kept`` (the file's current gates)."""
    if gates is None:
        gates = BUILDERS[contract.task](env == "production", stats, bool(contract.segment))
    gates = dict(gates)
    for key in ("max_latency_ms_p95", "max_model_mb"):
        if kept.get(key) is not None and key not in gates:
            gates[key] = kept[key]
    return gates


def min_live(contract: Contract) -> dict[str, str]:
    """``monitoring.min_live``: ``auto`` on the task's headline metric (``mlops.feedback.bars``
    derives it per served version from its holdout figure and trivial baseline)."""
    return {HEADLINE[contract.task]: "auto"}


def replace_min_live(text: str, live: dict[str, float | str]) -> str:
    """``text`` with ``monitoring.min_live`` set to ``live`` (replacing the line, or a
    commented-out one; added under ``monitoring:``, or as that block, when absent)."""
    if not live:
        return text
    line = f"  {f'min_live: {_flow(live)}':<28} {LIVE_COMMENT}\n"
    lines = text.splitlines(keepends=True)
    found = _top_block(lines, "monitoring:")
    if found is None:
        return text.rstrip("\n") + "\nmonitoring:\n" + line
    start, end = found
    at = next((i for i in range(start + 1, end) if _MIN_LIVE.match(lines[i])), None)
    if at is None:
        return "".join([*lines[: start + 1], line, *lines[start + 1 :]])
    return "".join([*lines[:at], line, *lines[at + 1 :]])


def apply(
    text: str,
    contract: Contract,
    env: str,
    stats: dict[str, float],
    kept: dict[str, Any],
    gates: dict[str, Any] | None = None,
) -> str:
    """An environment file's text with adopt's ``gates:`` block and ``monitoring.min_live``."""
    chosen = env_gates(contract, env, stats, kept, gates)
    text = replace_block(text, block(contract, chosen))
    return replace_min_live(text, min_live(contract))


_TOP = re.compile(r"^[^\s#]")
_MIN_LIVE = re.compile(r"^\s+(#\s*)?min_live:")


def _top_block(lines: list[str], key: str) -> tuple[int, int] | None:
    """(first line, line after the last) of the top-level block starting with ``key``."""
    start = next((i for i, line in enumerate(lines) if line.startswith(key)), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and not _TOP.match(lines[end]):
        end += 1
    return start, end


def replace_block(text: str, new_block: str) -> str:
    """``text`` with its top-level ``gates:`` block (and a comment line right above it written
    by adopt) replaced by ``new_block``; other keys and comments stay as they are."""
    lines = text.splitlines(keepends=True)
    found = _top_block(lines, "gates:")
    if found is None:
        return text.rstrip("\n") + "\n" + new_block
    start, end = found
    if start > 0 and lines[start - 1].startswith("# gates for a "):
        start -= 1
    return "".join(lines[:start]) + new_block + "".join(lines[end:])
