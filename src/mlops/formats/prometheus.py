"""Prometheus text exposition -> samples, histogram buckets and quantiles: what canary analysis
and `mlops status` read from a server's ``/metrics``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlops.core.errors import MlopsError


class MetricsError(MlopsError):
    """The text is not Prometheus' exposition format."""


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse_metrics(text: str) -> list[Sample]:
    """Prometheus text exposition -> flat samples (``prometheus_client.parser``)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        return [
            Sample(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    except (ValueError, TypeError) as exc:
        raise MetricsError(f"/metrics is not Prometheus text: {exc}") from exc


def _select(samples: list[Sample], name: str, version: str, route: str) -> list[Sample]:
    return [
        s
        for s in samples
        if s.name == name and s.labels.get("version") == version and s.labels.get("route") == route
    ]


def buckets(
    samples: list[Sample], name: str, version: str, route: str
) -> list[tuple[float, float]]:
    """Cumulative histogram buckets ``[(upper bound, count), ...]`` sorted by bound."""
    rows = [
        (float(s.labels["le"]), s.value) for s in _select(samples, f"{name}_bucket", version, route)
    ]
    return sorted(rows)


def quantile(q: float, cumulative: list[tuple[float, float]]) -> float | None:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket holding rank
    q; the +Inf bucket answers with the highest finite bound."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    total = cumulative[-1][1]
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return prev_bound


def bucket_shares(cumulative: list[tuple[float, float]]) -> list[float]:
    """Cumulative counts -> the share of observations in each bucket."""
    counts, prev = [], 0.0
    for _, count in cumulative:
        counts.append(max(count - prev, 0.0))
        prev = count
    total = sum(counts)
    return [c / total for c in counts] if total else []
