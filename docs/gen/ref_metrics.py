"""The server metrics reference: every Prometheus metric `mlops.serve.metrics` defines."""

from __future__ import annotations

from page import HEADER, code, table


def server_metrics() -> list[tuple[str, str, str, list[str]]]:
    """(exposed name, type, help, labels) for every metric ``mlops.serve.metrics`` defines."""
    from prometheus_client.metrics import MetricWrapperBase

    from mlops.serve import metrics

    found = []
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        kind = value._type
        name = value._name + ("_total" if kind == "counter" else "")
        found.append((name, kind, value._documentation, list(value._labelnames)))
    return sorted(found)


def metrics_page() -> str:
    from mlops.serve.coordination import STATES

    rows = [
        [code(name), kind, doc, ", ".join(code(label) for label in labels)]
        for name, kind, doc, labels in server_metrics()
    ]
    return (
        HEADER.format(source="src/mlops/serve/metrics.py")
        + "# Server metrics\n\n"
        + "`GET /metrics` on every server (`mlops serve`, `mlops serve-pinned`) answers in "
        "Prometheus' text format. Worker processes share the counters (prometheus_client's "
        "multiprocess mode). `mlops canary` compares the canary with the stable on them and "
        "`mlops status` computes the cost per 1,000 predictions from them. A histogram also "
        "exposes `_bucket`, `_sum` and `_count` series.\n\n"
        + table(["metric", "type", "help", "labels"], rows)
        + f"\n`mlops_sync_state` has one series per state: {', '.join(code(s) for s in STATES)}.\n"
    )
