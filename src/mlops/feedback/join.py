"""Logged predictions joined to their outcomes: the one definition of the join.

Key: ``(request_id, row)``. The log has one record per predicted row; the rows of one request
share its ``request_id`` and ``ts`` and are written together in order, so a record's ``row`` is
its position among the records with the same ``(request_id, ts)``. A client may send the same
``X-Request-ID`` again (to pin its canary route): then the latest logged prediction of the key is
the one its outcome resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from mlops import predlog
from mlops.errors import MlopsError
from mlops.feedback.outcomes import REQUEST_ID, ROW

LOG_COLUMNS = ("ts", REQUEST_ID, "model_version", "route", "prediction", "probability")


class LogError(MlopsError):
    """The prediction log cannot be read as the format in ``mlops.predlog``."""


@dataclass
class Logged:
    """The records of a window: one row per predicted record, oldest first."""

    frame: pd.DataFrame  # LOG_COLUMNS + row (+ the features' columns when asked for)
    records: int  # every readable record of the env, before the window
    cutoff: str | None  # ISO time: records at or after it are in the window


def cutoff_of(since: timedelta | None, now: datetime | None = None) -> str | None:
    if since is None:
        return None
    moment = (now or datetime.now(UTC)) - since
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _columns(log_dir: Path, env: str, cutoff: str | None, features: bool):
    cols: dict[str, list] = {c: [] for c in LOG_COLUMNS}
    rows: list[dict] = []
    records = 0
    where = predlog.env_dir(log_dir, env)
    for rec in predlog.read(log_dir, env):
        records += 1
        try:
            ts = rec["ts"]
            if cutoff is not None and ts < cutoff:
                continue
            for name in LOG_COLUMNS:
                cols[name].append(rec[name])
            if features:
                rows.append(rec["features"])
        except (KeyError, TypeError) as exc:
            raise LogError(
                f"{where}: record {records} lacks {exc} (format: mlops.predlog.FIELDS); move "
                "logs of another format out of the folder or pass another --log-dir"
            ) from exc
    return cols, rows, records


def read_log(
    log_dir: str | Path,
    env: str,
    *,
    since: timedelta | None = None,
    now: datetime | None = None,
    features: bool = False,
) -> Logged:
    """The logged predictions of ``env`` inside ``since`` (all when None)."""
    cutoff = cutoff_of(since, now)
    cols, rows, records = _columns(Path(log_dir), env, cutoff, features)
    frame = pd.DataFrame(cols)
    frame[REQUEST_ID] = frame[REQUEST_ID].astype("str")
    frame[ROW] = frame.groupby([REQUEST_ID, "ts"], sort=False).cumcount().astype("int64")
    if features:
        frame = pd.concat([frame, pd.DataFrame.from_records(rows, index=frame.index)], axis=1)
    return Logged(frame, records, cutoff)


def latest_per_key(frame: pd.DataFrame) -> pd.DataFrame:
    """One prediction per (request_id, row): the latest one logged."""
    return frame.drop_duplicates([REQUEST_ID, ROW], keep="last")


def label(logged: pd.DataFrame, outcomes: pd.DataFrame, target: str) -> pd.DataFrame:
    """Each logged prediction with its outcome in ``target`` (missing when none arrived)."""
    known = outcomes[[REQUEST_ID, ROW, target]]
    return latest_per_key(logged).merge(known, on=[REQUEST_ID, ROW], how="left", sort=False)
