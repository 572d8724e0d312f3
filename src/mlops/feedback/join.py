"""Logged predictions joined to their outcomes: the one definition of the join.

Key: ``(request_id, row)``. The log has one record per predicted row; the rows of one request
share its ``request_id`` and ``ts`` and are written together in order, so a record's ``row`` is
its position among the records with the same ``(request_id, ts)``. A client may send the same
``X-Request-ID`` again (to pin its canary route): then the latest logged prediction of the key is
the one its outcome resolves.
"""

from __future__ import annotations

import operator
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


def _records(log_dir: Path, env: str, cutoff: str | None, features: bool):
    """The window's records as tuples of LOG_COLUMNS (+ their features): one pass, no copies."""
    pick = operator.itemgetter(*LOG_COLUMNS)
    rows: list[tuple] = []
    feats: list[dict] = []
    records = 0
    for rec in predlog.read(log_dir, env):
        records += 1
        try:
            values = pick(rec)
            if cutoff is not None and values[0] < cutoff:
                continue
            if features:
                feats.append(rec["features"])
        except (KeyError, TypeError) as exc:
            raise LogError(
                f"{predlog.env_dir(log_dir, env)}: record {records} lacks {exc} (format: "
                "mlops.predlog.FIELDS); move logs of another format out of the folder or pass "
                "another --log-dir"
            ) from exc
        rows.append(values)
    return rows, feats, records


def _row_numbers(frame: pd.DataFrame) -> pd.Series:
    """Each record's position within its request (0 unless a request id repeats)."""
    repeated = frame.duplicated(REQUEST_ID, keep=False)
    rows = pd.Series(0, index=frame.index, dtype="int64")
    if repeated.any():
        part = frame[repeated]
        rows[repeated] = part.groupby([REQUEST_ID, "ts"], sort=False).cumcount()
    return rows


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
    rows, feats, records = _records(Path(log_dir), env, cutoff, features)
    frame = pd.DataFrame.from_records(rows, columns=list(LOG_COLUMNS))
    del rows
    frame[REQUEST_ID] = frame[REQUEST_ID].astype("str")
    frame[ROW] = _row_numbers(frame)
    if features:
        frame = pd.concat([frame, pd.DataFrame.from_records(feats, index=frame.index)], axis=1)
    return Logged(frame, records, cutoff)


def latest_per_key(frame: pd.DataFrame) -> pd.DataFrame:
    """One prediction per (request_id, row): the latest one logged."""
    return frame.drop_duplicates([REQUEST_ID, ROW], keep="last")


def label(logged: pd.DataFrame, outcomes: pd.DataFrame, target: str) -> pd.DataFrame:
    """Each logged prediction with its outcome in ``target`` (missing when none arrived)."""
    known = outcomes[[REQUEST_ID, ROW, target]]
    return latest_per_key(logged).merge(known, on=[REQUEST_ID, ROW], how="left", sort=False)
