"""Prometheus metrics of the server. Canary analysis, `mlops status` and dashboards read them by
name and label, so a rename breaks them (docs/reference/metrics.md is generated from here).
Several worker processes share them through prometheus_client's multiprocess mode:
``PROMETHEUS_MULTIPROC_DIR`` is set before any worker imports this module."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: F401
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from mlops.serve.coordination import STATES

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
                   0.25, 0.5, 1.0, 2.5)  # fmt: skip
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))

REQUESTS = Counter("mlops_requests", "Prediction requests.", ["version", "route", "status"])
LATENCY = Histogram(
    "mlops_request_latency_seconds",
    "Time from request to response, per request.",
    ["version", "route"],
    buckets=LATENCY_BUCKETS,
)
SCORE = Histogram(
    "mlops_prediction_score",
    "Predicted probabilities of the positive class (binary).",
    ["version", "route"],
    buckets=SCORE_BUCKETS,
)
CLASSES = Counter(
    "mlops_predicted_class", "Rows predicted per class (multiclass).", ["version", "route", "cls"]
)
# A gauge, not a counter: a sum of values may go down (negative predictions).
VALUES = Gauge(
    "mlops_prediction_value",
    "Predicted values (regression): their sum, sum of squares and count.",
    ["version", "route", "stat"],
    multiprocess_mode="sum",
)
CPU = Counter(
    "mlops_cpu_seconds", "CPU seconds spent in predict, apportioned per row.", ["version", "route"]
)
PREDICTIONS = Counter("mlops_predictions", "Rows predicted.", ["version", "route"])
SYNC_STATE = Gauge(
    "mlops_sync_state", "1 for the current sync state.", ["state"], multiprocess_mode="livemax"
)
ACTIVE = Gauge(
    "mlops_active_version",
    "1 for each loaded and routed version.",
    ["version", "route"],
    multiprocess_mode="livemax",
)

_active: set[tuple[str, str]] = set()
_children: dict[tuple, Any] = {}


def _child(metric, *labels: str):
    """``metric.labels(*labels)``, looked up once: ``labels()`` was a hot spot per request."""
    key = (metric, labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def observe(version: str, route: str, status: int, latency_s: float) -> None:
    _child(REQUESTS, version, route, str(status)).inc()
    _child(LATENCY, version, route).observe(latency_s)


def observe_predictions(version: str, route: str, answer, cpu_seconds: float) -> None:
    """Per task (``answers.Answer``): the score histogram (binary), rows per predicted class
    (multiclass), or the values' sum, sum of squares and count (regression); canary analysis
    compares the canary with the stable on them."""
    predictions = answer.predictions
    if answer.classes:
        for cls in predictions:
            CLASSES.labels(version, route, str(cls)).inc()
    elif answer.probabilities is not None:
        score = _child(SCORE, version, route)
        for p in answer.probabilities:
            score.observe(p)
    else:
        VALUES.labels(version, route, "sum").inc(sum(predictions))
        VALUES.labels(version, route, "squares").inc(sum(v * v for v in predictions))
        VALUES.labels(version, route, "count").inc(len(predictions))
    _child(PREDICTIONS, version, route).inc(len(predictions))
    _child(CPU, version, route).inc(cpu_seconds)


def set_state(sync: str, active: list[tuple[str, str]]) -> None:
    for state in STATES:
        SYNC_STATE.labels(state).set(1 if state == sync else 0)
    for version, route in _active - set(active):
        ACTIVE.labels(version, route).set(0)
    for version, route in active:
        ACTIVE.labels(version, route).set(1)
    _active.clear()
    _active.update(active)


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
