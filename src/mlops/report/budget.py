"""Serving budget: model size, latency and what 1,000 predictions cost, base against change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops.evaluation import cost


@dataclass(frozen=True)
class BudgetRow:
    name: str
    base: float | None
    new: float | None
    unit: str
    lower_is_better: bool = True


def cost_per_1000(serving: dict[str, Any] | None, usd_per_cpu_hour: float) -> float | None:
    """USD for 1,000 single-row predictions (the worst case: per-call overhead dominates)."""
    value = cost.from_serving_budget(serving or {}, usd_per_cpu_hour, batch=1)
    return None if value is None else round(value, 8)


def _p95(serving: dict[str, Any] | None, key: str) -> float | None:
    return ((serving or {}).get(key) or {}).get("p95")


def rows(base: dict | None, new: dict | None, rates: dict[str, float]) -> list[BudgetRow]:
    """One row per budget figure; one cost row per distinct rate among the environments."""
    out = [
        BudgetRow("model size", (base or {}).get("model_mb"), (new or {}).get("model_mb"), "MB"),
        BudgetRow(
            "latency p95, 1 row",
            _p95(base, "latency_ms_1_row"),
            _p95(new, "latency_ms_1_row"),
            "ms",
        ),
        BudgetRow(
            "latency p95, 100 rows",
            _p95(base, "latency_ms_100_rows"),
            _p95(new, "latency_ms_100_rows"),
            "ms",
        ),
    ]
    by_rate: dict[float, list[str]] = {}
    for env, rate in sorted(rates.items()):
        by_rate.setdefault(rate, []).append(env)
    for rate, envs in by_rate.items():
        out.append(
            BudgetRow(
                f"cost per 1,000 predictions ({', '.join(envs)}: ${rate:g}/CPU-hour)",
                cost_per_1000(base, rate),
                cost_per_1000(new, rate),
                "USD",
            )
        )
    return out
