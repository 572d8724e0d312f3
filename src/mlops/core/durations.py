"""``--since`` windows (drift, performance): a duration back from now (``90s``, ``30m``, ``24h``,
``7d``, ``2w``) or a moment (an ISO 8601 time such as ``2026-11-27T06:40:00Z``; without an
offset it is UTC), e.g. the time a new version was deployed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from mlops.core.errors import MlopsError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class DurationError(MlopsError):
    """A window that is neither a number and a unit nor an ISO time."""


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_duration(text: str, now: datetime | None = None) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w``, or an ISO time (the window from it to ``now``)
    -> timedelta."""
    match = _DURATION.match(text or "")
    if match and float(match.group(1)) > 0:
        return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    moment = _moment(text or "") if not match else None
    now = now or datetime.now(UTC)
    if moment is not None and moment <= now:
        return now - moment
    why = "a time in the future" if moment is not None else "not a duration or an ISO time"
    raise DurationError(
        f"--since {text!r}: {why}; use a number and a unit s, m, h, d or w (e.g. 30m, 24h, 7d) "
        "or a past ISO time (e.g. 2026-11-27T06:40:00Z)"
    )
