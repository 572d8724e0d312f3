"""The prediction log: one definition of its format, shared by the server (writer) and drift
monitoring (reader).

JSON lines, one object per predicted row:
``{"ts": ISO-8601 UTC, "request_id", "env", "model_version", "route": "stable"|"canary",
"features": {raw record}, "prediction": class or value, "probability": float | null,
"latency_ms": float}``. Per task (``mlops.serve.answers``): binary, the predicted class and the
positive class's probability; multiclass, the predicted class and its probability; regression,
the predicted value and null.
Files live in ``<log_dir>/<env>/``: the active file is ``predictions.jsonl``; rotated files are
``predictions-<UTC timestamp>.jsonl``. Readers take every ``predictions*.jsonl`` there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

DEFAULT_DIR = "logs/predictions"
ACTIVE = "predictions.jsonl"
FIELDS = (
    "ts",
    "request_id",
    "env",
    "model_version",
    "route",
    "features",
    "prediction",
    "probability",
    "latency_ms",
)


def env_dir(log_dir: str | Path, env: str) -> Path:
    return Path(log_dir) / env


def record(
    *,
    request_id: str,
    env: str,
    model_version: str,
    route: str,
    features: dict[str, Any],
    prediction: Any,
    probability: float | None,
    latency_ms: float,
    ts: datetime | None = None,
) -> dict[str, Any]:
    """One log record, with every field of the format."""
    return {
        "ts": (ts or datetime.now(UTC)).isoformat(timespec="milliseconds"),
        "request_id": request_id,
        "env": env,
        "model_version": model_version,
        "route": route,
        "features": features,
        "prediction": _plain(prediction),
        "probability": None if probability is None else round(float(probability), 6),
        "latency_ms": round(float(latency_ms), 3),
    }


def _plain(value: Any) -> Any:
    """A class label or value as JSON has it (numpy scalars become Python ones)."""
    return value.item() if hasattr(value, "item") else value


def rotated_name(now: datetime | None = None) -> str:
    return f"predictions-{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%S%fZ')}.jsonl"


def files(log_dir: str | Path, env: str) -> list[Path]:
    """Log files of ``env``, oldest first (rotated ones by name, then the active file)."""
    folder = env_dir(log_dir, env)
    rotated = sorted(p for p in folder.glob("predictions-*.jsonl"))
    active = folder / ACTIVE
    return rotated + ([active] if active.is_file() else [])


def read(log_dir: str | Path, env: str) -> Iterator[dict[str, Any]]:
    """Every record of ``env``; a line cut short by a crash is skipped, not fatal.

    orjson, not json: drift reads a million lines in a few seconds instead of ten.
    """
    for path in files(log_dir, env):
        with path.open("rb") as fh:
            for line in fh:
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
