"""Cost per prediction: one formula for the PR report, the server's /metrics and `mlops status`.

Cost is measured CPU time, not wall time: a request that waits on the network costs nothing, and
the environment's ``cost.usd_per_cpu_hour`` prices one CPU-hour of the machine serving it.
"""

from __future__ import annotations

import math

import numpy as np

MS_PER_HOUR = 3_600_000.0


def usd_per_1000(cpu_ms_per_row: float, usd_per_cpu_hour: float) -> float:
    """Dollars per 1,000 predictions for ``cpu_ms_per_row`` CPU milliseconds per predicted row."""
    for name, value in (("cpu_ms_per_row", cpu_ms_per_row), ("usd_per_cpu_hour", usd_per_cpu_hour)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return 1000 * cpu_ms_per_row / MS_PER_HOUR * usd_per_cpu_hour


def cpu_ms_per_row(cpu_seconds: float, rows: float) -> float | None:
    """CPU milliseconds per row from counters (``mlops_cpu_seconds_total`` and
    ``mlops_predictions_total``); None before the first prediction."""
    return 1000 * cpu_seconds / rows if rows > 0 else None


def from_counters(cpu_seconds: float, rows: float, usd_per_cpu_hour: float) -> float | None:
    """Dollars per 1,000 predictions from the server's counters; None before any prediction."""
    per_row = cpu_ms_per_row(cpu_seconds, rows)
    return None if per_row is None else usd_per_1000(per_row, usd_per_cpu_hour)


def from_serving_budget(serving: dict, usd_per_cpu_hour: float, batch: int = 1) -> float | None:
    """Dollars per 1,000 predictions from the evaluate stage's ``reports/serving.json``
    (``cpu_ms_per_row_1`` or ``cpu_ms_per_row_100``); None when the budget lacks it."""
    per_row = serving.get(f"cpu_ms_per_row_{batch}")
    return None if per_row is None else usd_per_1000(float(per_row), usd_per_cpu_hour)


def reserved_usd_per_hour(cpus: float, replicas: int, usd_per_cpu_hour: float) -> float:
    """Dollars per hour that ``replicas`` pods reserving ``cpus`` CPUs each cost."""
    return cpus * replicas * usd_per_cpu_hour


def format_usd(value: float | None) -> str:
    """A cost for humans: enough significant digits for fractions of a cent."""
    if value is None:
        return "n/a"
    if value < 0.01:
        return "$" + np.format_float_positional(value, precision=2, unique=False, fractional=False)
    return f"${value:,.4f}"
