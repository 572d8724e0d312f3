"""`mlops status`: per environment, desired (models.yaml at HEAD) against live (`GET /version`)."""

from __future__ import annotations

from pathlib import Path

from mlops import environments, models_file
from mlops.errors import ConfigError
from mlops.promotion import audit, target


def _desired(root: Path) -> models_file.ModelsFile:
    try:
        return models_file.load_at("HEAD", root)
    except ConfigError:
        return models_file.load(root / "models.yaml")


def env_status(name: str, url: str, desired) -> dict:
    row = {
        "env": name,
        "url": url,
        "desired": audit.describe(desired),
        "live": None,
        "commit": None,
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
    }


def status(root: str | Path = ".") -> list[dict]:
    root = Path(root)
    state = _desired(root)
    model = state.default_model()
    names = dict.fromkeys([*environments.names(root), *state.models.get(model, {})])
    return [
        env_status(name, environments.load(name, root).serving.url, state.deployment(name, model))
        for name in names
    ]


def table(rows: list[dict]) -> str:
    header = ["env", "desired", "live", "sync", "health", "commit", "reason"]
    body = [[str(r[k] if r[k] is not None else "-") for k in header] for r in rows]
    for row in body:
        row[5] = row[5][:10]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in [header, *body]
    )
