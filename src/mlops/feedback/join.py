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

from mlops.core.errors import MlopsError
from mlops.formats import predlog
from mlops.formats.predlog import REQUEST_ID, ROW

LOG_COLUMNS = ("ts", REQUEST_ID, "model_version", "route", "prediction", "probability")
CLASS_PROBABILITIES = "probabilities"  # multiclass records only: every class's probability
SHADOW = "shadow"  # records a shadow version scored too: its output beside the answer
SHADOW_COLUMNS = tuple(f"{SHADOW}.{c}" for c in ("model_version", "prediction", "probability"))


class LogError(MlopsError):
    """The prediction log cannot be read as the format in ``mlops.formats.predlog``."""


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


def _missing(where: Path, columns, features: bool) -> LogError | None:
    need = [*LOG_COLUMNS, *(["features"] if features else [])]
    lacking = [c for c in need if c not in columns]
    if not lacking:
        return None
    return LogError(
        f"{where}: records lack {lacking} (format: mlops.formats.predlog.FIELDS); move logs of "
        "another format out of the folder or pass another --log-dir"
    )


def _arrow_frame(path: Path, features: bool) -> pd.DataFrame:
    """One file parsed by Arrow's multi-threaded JSON reader: typed columns, no Python dicts."""
    import pyarrow as pa
    from pyarrow import json as pa_json

    text = [(c, pa.string()) for c in ("ts", REQUEST_ID, "model_version", "route")]
    options = pa_json.ParseOptions(
        explicit_schema=pa.schema([*text, ("probability", pa.float64())]),
        unexpected_field_behavior="infer",
    )
    table = pa_json.read_json(path, parse_options=options)
    if (error := _missing(path, table.column_names, features)) is not None:
        raise error
    keep = [*LOG_COLUMNS, *(["features"] if features else [])]
    if CLASS_PROBABILITIES in table.column_names:
        keep.append(CLASS_PROBABILITIES)
    if SHADOW in table.column_names:
        keep.append(SHADOW)
    table = table.select(keep)
    if features or SHADOW in keep:
        table = table.flatten()
        table = table.rename_columns([c.removeprefix("features.") for c in table.column_names])
    return table.to_pandas()


def _python_frame(path: Path, features: bool) -> pd.DataFrame:
    """The same frame, line by line: for a file with a line cut short by a crash."""
    rows, feats, per_class, shadows = [], [], [], []
    for rec in predlog.read_file(path):
        if (error := _missing(path, rec, features)) is not None:
            raise error
        rows.append(tuple(rec[c] for c in LOG_COLUMNS))
        per_class.append(rec.get(CLASS_PROBABILITIES))
        shadows.append(rec.get(SHADOW) or {})
        if features:
            feats.append(rec["features"])
    frame = pd.DataFrame.from_records(rows, columns=list(LOG_COLUMNS))
    if any(p is not None for p in per_class):
        frame[CLASS_PROBABILITIES] = per_class
    if any(shadows):
        for column in SHADOW_COLUMNS:
            frame[column] = [s.get(column.removeprefix(f"{SHADOW}.")) for s in shadows]
    if features and feats:
        frame = pd.concat([frame, pd.DataFrame.from_records(feats, index=frame.index)], axis=1)
    return frame


def _file_frame(path: Path, features: bool) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return _arrow_frame(path, features)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return _python_frame(path, features)


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
    frames = [_file_frame(p, features) for p in predlog.files(log_dir, env)]
    frames = [f for f in frames if len(f)]
    if not frames:
        frames = [pd.DataFrame({c: pd.Series(dtype="str") for c in LOG_COLUMNS})]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    records = len(frame)
    frame[REQUEST_ID] = frame[REQUEST_ID].astype("str")
    if cutoff is not None:
        frame = frame[frame["ts"].astype("str") >= cutoff].reset_index(drop=True)
    frame[ROW] = _row_numbers(frame)
    return Logged(frame, records, cutoff)


def latest_per_key(frame: pd.DataFrame) -> pd.DataFrame:
    """One prediction per (request_id, row): the latest one logged."""
    return frame.drop_duplicates([REQUEST_ID, ROW], keep="last")


def label(logged: pd.DataFrame, outcomes: pd.DataFrame, target: str) -> pd.DataFrame:
    """Each logged prediction with its outcome in ``target`` (missing when none arrived)."""
    known = outcomes[[REQUEST_ID, ROW, target]]
    return latest_per_key(logged).merge(known, on=[REQUEST_ID, ROW], how="left", sort=False)


def shadow_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a shadow version scored, as the shadow's own predictions (route ``shadow``):
    same request ids, rows and outcomes as the answers they were logged beside."""
    if SHADOW_COLUMNS[0] not in frame:
        return frame.iloc[0:0]
    rows = frame[frame[SHADOW_COLUMNS[0]].notna()].copy()
    for column in SHADOW_COLUMNS:
        rows[column.removeprefix(f"{SHADOW}.")] = rows[column]
    rows["route"] = SHADOW
    return rows


@dataclass(frozen=True)
class JoinCount:
    """How many outcomes match a logged prediction of their environment."""

    outcomes: int
    joined: int
    log: Path  # the environment's log folder that was read
    examples: tuple[str, ...] = ()  # request ids that did not join, a few

    @property
    def not_joined(self) -> int:
        return self.outcomes - self.joined

    def describe(self) -> str:
        if not self.not_joined:
            return f"all {self.outcomes:,} outcome(s) match a logged prediction in {self.log}"
        some = ", ".join(repr(e) for e in self.examples)
        return (
            f"{self.not_joined:,} of {self.outcomes:,} outcome(s) did not join: no prediction "
            f"with that (request_id, row) in {self.log} (e.g. {some}). They are stored and "
            "join once the log holding them is read; check --env, --log-dir and that each id "
            "is exactly the one the server answered with (X-Request-ID)"
        )


def unjoined(outcomes: pd.DataFrame, log_dir: str | Path, env: str) -> JoinCount | None:
    """Count the outcomes with no logged prediction of ``env`` (None: no log to check)."""
    if not predlog.files(log_dir, env):
        return None
    logged = read_log(log_dir, env).frame[[REQUEST_ID, ROW]].drop_duplicates()
    keys = outcomes[[REQUEST_ID, ROW]]
    merged = keys.merge(logged, on=[REQUEST_ID, ROW], how="left", indicator=True)
    missing = merged.loc[merged["_merge"] == "left_only", REQUEST_ID]
    examples = tuple(str(v) for v in missing.head(5))
    folder = predlog.env_dir(log_dir, env)
    return JoinCount(len(keys), len(keys) - len(missing), folder, examples)
