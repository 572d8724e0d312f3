"""How one number, change, table row or gate reads in the PR comment: the cells every section
of ``mlops.report.render`` and `mlops gate` are built from."""

from __future__ import annotations

from typing import Any

from mlops.evaluation.metric_names import LOWER_IS_BETTER
from mlops.quality.gates import GateResult

PASS, FAIL, NOTE = "✅", "❌", "ℹ️"


def fmt_num(value: Any, places: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{places}f}"


def delta(base: Any, new: Any, lower_is_better: bool = False, places: int = 4) -> str:
    if not isinstance(base, (int, float)) or not isinstance(new, (int, float)):
        return "—"
    change = new - base
    if round(change, places) == 0:
        return "0"
    better = change < 0 if lower_is_better else change > 0
    return f"{change:+.{places}f} {'🟢' if better else '🔴'}"


def table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def gate_threshold(g: GateResult) -> str:
    t = fmt_num(g.threshold, 4).rstrip("0").rstrip(".")
    return {
        "min": f"{'≤' if g.metric in LOWER_IS_BETTER else '≥'} {t}",
        "max_regression": f"drop ≤ {t} vs live",
        "min_lift": f"≥ trivial + {t}",
        "max_slice_gap": f"gap ≤ {t}",
        "max_latency_ms_p95": f"≤ {t} ms",
        "max_model_mb": f"≤ {t} MB",
    }.get(g.gate, t)


WOULD_BLOCK = "⚠️ would block (dry run)"  # gates.mode dry_run: shown, never blocks


def gate_mark(g: GateResult) -> str:
    if g.gate == "max_regression" and g.value is None and g.passed:
        return "n/a"  # nothing live to regress against
    if not g.passed and g.dry_run:
        return WOULD_BLOCK
    return PASS if g.passed else FAIL
