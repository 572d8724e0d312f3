"""The value checks environments/*.yaml's parser shares: mappings, numbers, texts, whole
numbers in a range, live bars and their tolerance; each failure a ``ConfigError`` naming the
file, the key and the value."""

from __future__ import annotations

from typing import Any

from mlops.core.errors import ConfigError


def mapping_at(raw: Any, source: str, key: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(source, key, "must be a mapping", value=raw)
    return raw


def numbers_at(raw: Any, source: str, key: str) -> dict[str, float]:
    out = {}
    for name, value in mapping_at(raw, source, key).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(source, f"{key}.{name}", "must be a number", value=value)
        out[name] = float(value)
    return out


def number_at(raw: Any, source: str, key: str, low: float = 0) -> float | None:
    if raw is None:
        return None
    if not isinstance(raw, (int, float)) or isinstance(raw, bool) or raw < low:
        raise ConfigError(source, key, f"must be a number >= {low}", value=raw)
    return float(raw)


def text_at(raw: dict, key: str, default: str | None, source: str, where: str) -> str | None:
    value = raw.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(source, f"{where}.{key}", "must be a non-empty string", value=value)
    return value


AUTO = "auto"  # a live bar derived from the served version's holdout figure and baseline


def live_bars(raw: Any, source: str) -> dict[str, float | str]:
    """``monitoring.min_live``: metric -> number or ``auto``; ``auto`` alone (or unset): {}."""
    if raw == AUTO:
        return {}
    out: dict[str, float | str] = {}
    for name, value in mapping_at(raw, source, "monitoring.min_live").items():
        if value == AUTO:
            out[name] = AUTO
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
        else:
            raise ConfigError(source, f"monitoring.min_live.{name}", "must be a number or auto",
                              value=value)  # fmt: skip
    return out


def tolerance(raw: Any, source: str) -> float:
    if not isinstance(raw, (int, float)) or isinstance(raw, bool) or not 0 <= raw < 1:
        raise ConfigError(
            source, "monitoring.live_tolerance", "must be a share >= 0 and < 1",
            "0.25: a version may lose a quarter of its lift live", value=raw,
        )  # fmt: skip
    return float(raw)


def whole_at(raw: dict, key: str, default: int, low: int, high: int, source: str) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(
            source, f"canary.{key}", f"must be a whole number from {low} to {high}", value=value
        )
    return value
