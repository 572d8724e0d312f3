"""The model card's slice sections: metrics per segment (a segment too small to judge says
so) and the gaps between segments with their 95 % intervals."""

from __future__ import annotations

from typing import Any

from mlops.evaluation.metric_names import LOWER_IS_BETTER
from mlops.model.card_metrics import fmt

SLICE_METRICS = {
    "binary": ("rows", "positive_rate", "roc_auc", "f1", "precision", "recall"),
    "multiclass": ("rows", "accuracy", "macro_f1", "log_loss"),
    "regression": ("rows", "rmse", "mae", "r2"),
}
GAP_METRICS = {
    "binary": ("roc_auc", "f1", "precision", "recall", "accuracy"),
    "multiclass": ("accuracy", "macro_f1"),
    "regression": ("rmse", "mae", "r2"),
}


def slice_gaps(slices: dict[str, Any], task: str = "binary") -> dict[str, tuple[str, str, str]]:
    """metric -> (gap between best and worst with its 95 % interval, worst, best), over the
    segments large enough to judge."""
    from mlops.evaluation.uncertainty import interval

    values = {n: s for n, s in slices.get("slices", {}).items() if not s.get("too_small")}
    out = {}
    for metric in GAP_METRICS[task]:
        have = {name: s[metric] for name, s in values.items() if metric in s}
        if len(have) >= 2:
            low, high = min(have, key=have.get), max(have, key=have.get)
            worst, best = (high, low) if metric in LOWER_IS_BETTER else (low, high)
            ses = [values[n].get("se", {}).get(metric) for n in (worst, best)]
            se = (ses[0] ** 2 + ses[1] ** 2) ** 0.5 if None not in ses else None
            gap = round(abs(have[best] - have[worst]), 4)
            out[metric] = (interval(gap, se), worst, best)
    return out


def slices_section(inputs) -> list[str]:
    values = inputs.slices.get("slices", {})
    if not values:
        return ["No slice metrics: the contract names no segment."]
    task = inputs.contract.task if inputs.contract else "binary"
    shown = SLICE_METRICS[task]
    segment = inputs.slices.get("segment") or "segment"
    lines = [
        f"Per `{segment}`:",
        "",
        "| " + " | ".join([segment, *shown, "judged"]) + " |",
        "|---" + "|---:" * len(shown) + "|---|",
    ]
    for name, s in sorted(values.items()):
        judged = f"too small ({s['too_small']})" if s.get("too_small") else "yes"
        lines.append("| " + " | ".join([name, *(fmt(s.get(m, "")) for m in shown), judged]) + " |")
    lines += [
        "",
        "### Gaps between segments",
        "",
        "Between the segments large enough to judge; ± is the 95 % interval. A gate fails only "
        "when the gap exceeds what it allows with 95 % confidence.",
        "",
        "| metric | gap (best − worst) | worst | best | allowed |",
        "|---|---:|---|---|---|",
    ]
    for metric, (gap, worst, best) in slice_gaps(inputs.slices, task).items():
        allowed = (
            ", ".join(
                f"{env} ≤ {g[metric]:g}"
                for env, g in sorted(inputs.gaps_allowed.items())
                if metric in g
            )
            or "no gate"
        )
        lines.append(f"| {metric} | {gap} | {worst} | {best} | {allowed} |")
    return lines
