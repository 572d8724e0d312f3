"""``--since`` windows: ``90s``, ``30m``, ``24h``, ``7d``, ``2w`` (drift, performance, refresh)."""

from __future__ import annotations

import re
from datetime import timedelta

from mlops.errors import MlopsError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class DurationError(MlopsError):
    """A window that is not a number and a unit."""


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` -> timedelta."""
    match = _DURATION.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise DurationError(
            f"--since {text!r}: not a duration; use a number and a unit s, m, h, d or w "
            "(e.g. 30m, 24h, 7d)"
        )
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
