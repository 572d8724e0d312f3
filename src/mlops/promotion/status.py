"""`mlops status`: per environment, desired (models.yaml at HEAD) against live (`GET /version`)."""

from __future__ import annotations

from pathlib import Path

from mlops.core.errors import ConfigError
from mlops.evaluation import cost
from mlops.formats import environments, models_file
from mlops.kube import status as kube_status
from mlops.promotion import audit, target


def _desired(root: Path) -> models_file.ModelsFile:
    try:
        return models_file.load_at("HEAD", root)
    except ConfigError:
        return models_file.load(root / "models.yaml")


def live_cost(url: str, usd_per_cpu_hour: float) -> float | None:
    """Dollars per 1,000 predictions from the server's CPU and row counters (None before the
    first prediction, or when /metrics cannot be read)."""
    from mlops.formats import prometheus

    try:
        samples = prometheus.parse_metrics(target.metrics(url, timeout=2.0))
    except (target.TargetError, prometheus.MetricsError):
        return None
    total = {
        name: sum(s.value for s in samples if s.name == name)
        for name in ("mlops_cpu_seconds_total", "mlops_predictions_total")
    }
    return cost.from_counters(
        total["mlops_cpu_seconds_total"], total["mlops_predictions_total"], usd_per_cpu_hour
    )


def env_status(name: str, url: str, desired, usd_per_cpu_hour: float = 0.0) -> dict:
    row = {
        "env": name,
        "url": url,
        "desired": audit.describe(desired),
        "live": None,
        "commit": None,
        "usd_per_1000": None,
    }
    try:
        live = target.live(url, timeout=2.0)
    except target.TargetError as exc:
        return {**row, "sync": "Unknown", "health": "Unknown", "reason": str(exc)}
    return {
        **row,
        "live": live.describe(),
        "commit": live.commit,
        "sync": "Synced" if live.serves(desired) else "OutOfSync",
        "health": "Degraded" if live.sync == "Degraded" else "Healthy",
        "reason": live.reason,
        "usd_per_1000": live_cost(url, usd_per_cpu_hour),
    }


def status(root: str | Path = ".") -> list[dict]:
    root = Path(root)
    state = _desired(root)
    model = state.default_model()
    names = dict.fromkeys([*environments.names(root), *state.models.get(model, {})])
    envs = {name: environments.load(name, root) for name in names}
    return [
        kube_status.env_status(name, env, model, state.deployment(name, model))
        if kube_status.is_kserve(env)
        else env_status(name, env.serving.url, state.deployment(name, model), env.usd_per_cpu_hour)
        for name, env in envs.items()
    ]


def _cost(row: dict) -> str:
    """Per 1,000 predictions from a server's counters; per hour reserved for a kserve target."""
    if row.get("usd_per_hour") is not None:
        return f"{cost.format_usd(row['usd_per_hour'])}/h"
    value = row.get("usd_per_1000")
    return "n/a" if value is None else f"{cost.format_usd(value)}/1k"


def table(rows: list[dict]) -> str:
    header = ["env", "desired", "live", "sync", "health", "commit", "cost", "reason"]
    rows = [{**r, "cost": _cost(r)} for r in rows]
    body = [[str(r[k] if r[k] is not None else "-") for k in header] for r in rows]
    for row in body:
        row[5] = row[5][:10]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in [header, *body]
    )
