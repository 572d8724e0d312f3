"""Quality gates: one definition used by `mlops gate`, the PR report and `mlops check`.

A candidate's results (metrics, slices, serving budget) are checked against an environment's
``gates``: absolute minimums, maximum regression against the version live there, maximum gap
between segments, maximum latency and model size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlops import paths
from mlops.environments import Environment
from mlops.io_utils import read_json

# Metrics where lower is better; every other metric is higher-is-better.
LOWER_IS_BETTER = frozenset({"log_loss"})


@dataclass(frozen=True)
class Results:
    metrics: dict[str, float]
    slices: dict[str, Any]
    serving: dict[str, Any]

    @classmethod
    def from_workspace(cls, root: str | Path = ".") -> Results:
        root = Path(root)
        return cls(
            read_json(root / paths.METRICS),
            read_json(root / paths.SLICES),
            read_json(root / paths.SERVING),
        )

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> Results:
        return cls(
            metadata.get("metrics", {}), metadata.get("slices", {}), metadata.get("serving", {})
        )


@dataclass(frozen=True)
class GateResult:
    gate: str  # min, max_regression, max_slice_gap, max_latency_ms_p95, max_model_mb
    metric: str
    value: float | None
    threshold: float
    passed: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _slice_values(slices: dict[str, Any], metric: str) -> dict[str, float]:
    return {name: s[metric] for name, s in slices.get("slices", {}).items() if metric in s}


def _min_gates(env: Environment, r: Results) -> list[GateResult]:
    out = []
    for metric, low in env.gates.min.items():
        value = r.metrics.get(metric)
        ok = value is not None and (value <= low if metric in LOWER_IS_BETTER else value >= low)
        out.append(
            GateResult(
                "min", metric, value, low, ok, "missing from metrics" if value is None else ""
            )
        )
    return out


def _regression_gates(env: Environment, r: Results, live: Results | None) -> list[GateResult]:
    out = []
    for metric, tolerance in env.gates.max_regression.items():
        if live is None or metric not in live.metrics:
            out.append(
                GateResult(
                    "max_regression",
                    metric,
                    None,
                    tolerance,
                    True,
                    f"nothing live in {env.name} to compare with",
                )
            )
            continue
        value, base = r.metrics.get(metric), live.metrics[metric]
        drop = (
            None if value is None else (value - base if metric in LOWER_IS_BETTER else base - value)
        )
        ok = drop is not None and drop <= tolerance
        out.append(
            GateResult(
                "max_regression",
                metric,
                None if drop is None else round(drop, 6),
                tolerance,
                ok,
                f"live {base} -> candidate {value}",
            )
        )
    return out


def _slice_gates(env: Environment, r: Results) -> list[GateResult]:
    out = []
    for metric, max_gap in env.gates.max_slice_gap.items():
        values = _slice_values(r.slices, metric)
        if not values:
            out.append(GateResult("max_slice_gap", metric, None, max_gap, False, "no slices"))
            continue
        worst, best = min(values, key=values.get), max(values, key=values.get)
        gap = round(values[best] - values[worst], 6)
        out.append(
            GateResult(
                "max_slice_gap",
                metric,
                gap,
                max_gap,
                gap <= max_gap,
                f"worst slice {worst} ({values[worst]}), best {best}",
            )
        )
    return out


def _budget_gates(env: Environment, r: Results) -> list[GateResult]:
    out = []
    if env.gates.max_latency_ms_p95 is not None:
        p95 = r.serving.get("latency_ms_1_row", {}).get("p95")
        out.append(
            GateResult(
                "max_latency_ms_p95",
                "latency_ms_1_row.p95",
                p95,
                env.gates.max_latency_ms_p95,
                p95 is not None and p95 <= env.gates.max_latency_ms_p95,
            )
        )
    if env.gates.max_model_mb is not None:
        size = r.serving.get("model_mb")
        out.append(
            GateResult(
                "max_model_mb",
                "model_mb",
                size,
                env.gates.max_model_mb,
                size is not None and size <= env.gates.max_model_mb,
            )
        )
    return out


def check(env: Environment, candidate: Results, live: Results | None = None) -> list[GateResult]:
    """Every gate of ``env`` applied to ``candidate``; ``live`` is what the environment serves."""
    return [
        *_min_gates(env, candidate),
        *_regression_gates(env, candidate, live),
        *_slice_gates(env, candidate),
        *_budget_gates(env, candidate),
    ]


def passed(results: list[GateResult]) -> bool:
    return all(r.passed for r in results)
