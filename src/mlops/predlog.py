"""The prediction log: one definition of its format, shared by the server (writer) and drift
monitoring (reader).

JSON lines, one object per predicted row:
``{"ts": ISO-8601 UTC, "request_id", "env", "model_version", "route": "stable"|"canary",
"features": {raw record}, "prediction": class or value, "probability": float | null,
"latency_ms": float}``. Per task (``mlops.serve.answers``): binary, the predicted class and the
positive class's probability; multiclass, the predicted class and its probability, and
``"probabilities"``: every class's probability in the order of the contract's classes (for live
log loss); regression, the predicted value and null. A request a shadow version scored (off the
answer's path) also has ``"shadow": {"model_version", "prediction", "probability"}``: the
shadow's output for the same row, under the same request id; readers that ignore it are
unaffected.
Files live in ``<log_dir>/<env>/``: the active file is ``predictions.jsonl``; rotated files are
``predictions-<UTC timestamp>.jsonl``. Readers take every ``predictions*.jsonl`` there.

Hygiene: a column marked ``personal: true`` in contract.yaml is logged as ``redact``'s hash
(``sha256:<16 hex>``, keyed with ``$MLOPS_LOG_HASH_KEY`` when set, so a dictionary of likely
values cannot reverse it), never as its value; equal values keep equal hashes, so counts and
joins still work. ``prune`` deletes rotated files older than the environment's
``monitoring.log_retention_days`` (the server runs it at every rotation; `mlops logs prune`
on demand).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

DEFAULT_DIR = "logs/predictions"
ACTIVE = "predictions.jsonl"
HASH_KEY_ENV = "MLOPS_LOG_HASH_KEY"
_STAMP = "%Y%m%dT%H%M%S%fZ"
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
    probabilities: list[float] | None = None,
) -> dict[str, Any]:
    """One log record, with every field of the format (``probabilities``: multiclass only)."""
    rec = {
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
    if probabilities is not None:
        rec["probabilities"] = [round(float(p), 6) for p in probabilities]
    return rec


def shadow_record(output: dict[str, Any]) -> dict[str, Any]:
    """A shadow version's output for one row, as the ``shadow`` field of the answer's record."""
    proba = output.get("probability")
    return {
        "model_version": output["model_version"],
        "prediction": _plain(output["prediction"]),
        "probability": None if proba is None else round(float(proba), 6),
    }


def _plain(value: Any) -> Any:
    """A class label or value as JSON has it (numpy scalars become Python ones)."""
    return value.item() if hasattr(value, "item") else value


def rotated_name(now: datetime | None = None) -> str:
    return f"predictions-{(now or datetime.now(UTC)).strftime(_STAMP)}.jsonl"


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
        yield from read_file(path)


def read_file(path: Path) -> Iterator[dict[str, Any]]:
    """The records of one log file; a line cut short by a crash is skipped."""
    with path.open("rb") as fh:
        for line in fh:
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                continue


def hash_value(value: Any, key: bytes | None = None) -> str:
    """``sha256:<16 hex>`` of the value's text; HMAC-keyed when a key is given."""
    text = str(value).encode()
    digest = (
        hmac.new(key, text, hashlib.sha256).hexdigest() if key else hashlib.sha256(text).hexdigest()
    )
    return f"sha256:{digest[:16]}"


def hash_key() -> bytes | None:
    key = os.environ.get(HASH_KEY_ENV, "")
    return key.encode() if key else None


def redact(features: dict[str, Any], personal: Iterable[str], key: bytes | None = None):
    """``features`` with every personal column's value replaced by its hash (nulls stay null)."""
    personal = [c for c in personal if features.get(c) is not None]
    if not personal:
        return features
    return {**features, **{c: hash_value(features[c], key) for c in personal}}


def rotated_at(path: Path) -> datetime | None:
    """When a rotated file was closed, from its name (None for the active file)."""
    stamp = path.name.removeprefix("predictions-").removesuffix(".jsonl")
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def prune(log_dir: str | Path, env: str, max_age: timedelta, now: datetime | None = None):
    """Delete ``env``'s rotated files closed more than ``max_age`` ago; return them."""
    cutoff = (now or datetime.now(UTC)) - max_age
    old = [
        p for p in files(log_dir, env) if (closed := rotated_at(p)) is not None and closed < cutoff
    ]
    for path in old:
        path.unlink(missing_ok=True)
    return old
