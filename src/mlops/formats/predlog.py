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

Hygiene: a column marked ``personal: true`` in contract.yaml is logged as ``redact``'s keyed
hash, never as its value: ``sha256:<16 hex>`` of HMAC-SHA256 with the secret
``$MLOPS_LOG_HASH_KEY`` (at least 16 characters) over the value tagged with its JSON type, so
``1`` and ``"1"`` differ and nobody without the key can rebuild the hash of a guessed value (an
unkeyed hash of an age is reversed by hashing 120 numbers). Equal values keep equal hashes, so
counts and joins still work; code that compares a value with the log must hash it with
``hash_value`` and the same key. Without a usable key the personal columns are left out of the
log, not hashed, and the server says so when it starts (``key_problem``). ``prune`` deletes
rotated files older than the environment's
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
# An outcome names the prediction it labels by these two keys: the request, the row within it.
REQUEST_ID = "request_id"
ROW = "row"
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


MIN_KEY_CHARS = 16


def _typed(value: Any) -> bytes:
    """The value with its JSON type: ``1`` -> ``num:1``, ``"1"`` -> ``str:1``, ``1.0`` ->
    ``num:1`` (JSON has one number type), ``true`` -> ``bool:true``."""
    if isinstance(value, bool):
        return b"bool:" + (b"true" if value else b"false")
    if isinstance(value, int | float):
        number = float(value)
        text = str(int(number)) if number.is_integer() else repr(number)
        return b"num:" + text.encode()
    if isinstance(value, str):
        return b"str:" + value.encode()
    return b"json:" + orjson.dumps(_plain(value), option=orjson.OPT_SORT_KEYS)


def hash_value(value: Any, key: bytes) -> str:
    """``sha256:<16 hex>``: HMAC-SHA256 of the type-tagged value under ``key`` (required)."""
    if not key:
        raise ValueError("hash_value needs the secret key ($MLOPS_LOG_HASH_KEY)")
    return f"sha256:{hmac.new(key, _typed(value), hashlib.sha256).hexdigest()[:16]}"


def hash_key() -> bytes | None:
    """``$MLOPS_LOG_HASH_KEY`` when it is set and long enough (``key_problem`` says why not)."""
    key = os.environ.get(HASH_KEY_ENV, "")
    return key.encode() if len(key) >= MIN_KEY_CHARS else None


def key_problem(personal: Iterable[str]) -> str | None:
    """Why ``personal`` columns will be left out of the log (None: they are hashed)."""
    personal = list(personal)
    if not personal or hash_key() is not None:
        return None
    state = "shorter than 16 characters" if os.environ.get(HASH_KEY_ENV) else "not set"
    return (
        f"${HASH_KEY_ENV} is {state}: the personal column(s) {', '.join(personal)} "
        "(contract.yaml `personal: true`) are left out of the prediction log, not hashed. To "
        f"log their keyed hashes, set {HASH_KEY_ENV} to a secret of 16+ characters, the same "
        "on every server of the environment (e.g. `python -c 'import secrets; "
        "print(secrets.token_hex(32))'`, kept in your secret store, never in Git)"
    )


def redact(features: dict[str, Any], personal: Iterable[str], key: bytes | None):
    """``features`` with every personal column's value replaced by its keyed hash (nulls stay
    null); without a key, with the personal columns left out."""
    personal = [c for c in personal if c in features]
    if not personal:
        return features
    if not key:
        return {c: v for c, v in features.items() if c not in personal}
    hashed = {c: hash_value(features[c], key) for c in personal if features[c] is not None}
    return {**features, **hashed}


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
