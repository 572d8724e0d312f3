"""Outcomes: the true label (or value) of a served prediction, known later, keyed by request id.

`mlops outcomes ingest FILE --env ENV` reads a CSV or Parquet file with the columns

    request_id   the id the server answered with (``X-Request-ID``, or the one it generated),
                 read as text as written: ``00123`` stays ``00123``, never the number 123
    row          optional: the record's position in a multi-record request (0 = first; default 0)
    <target>     the contract's target (``contract.yaml`` ``target.name``), e.g. ``churn``

checks every row against the contract (a known class for classification, a finite number for
regression, no missing or duplicate ids) and, only when all rows pass, stores it as one new file
``outcomes/<env>/outcomes-<UTC time>.parquet`` and runs ``dvc add outcomes`` so the outcomes are
versioned like the data (``outcomes.dvc`` in Git, the files in the DVC remote). A failing file
stores nothing. Several ingests of the same id keep the latest one. When the environment's
prediction log is at hand, ingest also counts the outcomes that match no logged prediction
(``join.unjoined``), so ids that can never join are reported the day they arrive.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.core import tools
from mlops.core.errors import DataValidationError, MlopsError
from mlops.formats import environments
from mlops.formats.contract import Contract, load_contract
from mlops.formats.predlog import REQUEST_ID, ROW
from mlops.formats.schema import read_raw

OUTCOMES_DIR = "outcomes"
INGESTED_AT = "ingested_at"
PATTERN = "outcomes-*.parquet"
MAX_EXAMPLES = 5


class OutcomesError(MlopsError):
    """The outcome store cannot be read or written."""


@dataclass(frozen=True)
class Ingested:
    env: str
    path: Path
    rows: int
    dvc_file: str | None  # outcomes.dvc when `dvc add` ran
    join: Any = None  # join.JoinCount against the env's log; None when there was no log


def env_dir(root: str | Path, env: str, store: str | Path | None = None) -> Path:
    return Path(root) / (store or OUTCOMES_DIR) / env


def files(root: str | Path, env: str, store: str | Path | None = None) -> list[Path]:
    """Stored outcome files of ``env``, oldest first (the names sort by ingest time)."""
    return sorted(env_dir(root, env, store).glob(PATTERN))


# ---------------------------------------------------------------------------- checks


def _rows(mask: pd.Series) -> str:
    """File line numbers of the failing rows (header is line 1), a few of them."""
    lines = [str(i + 2) for i in np.flatnonzero(mask.to_numpy())[:MAX_EXAMPLES]]
    more = int(mask.sum()) - len(lines)
    return ", ".join(lines) + (f" and {more} more" if more > 0 else "")


def _examples(values: pd.Series) -> str:
    return ", ".join(repr(v) for v in pd.unique(values)[:MAX_EXAMPLES])


def _column_problems(df: pd.DataFrame, contract: Contract) -> list[str]:
    allowed = (REQUEST_ID, ROW, contract.target)
    problems = [
        f"missing column {c!r}" for c in (REQUEST_ID, contract.target) if c not in df.columns
    ]
    extra = [c for c in df.columns if c not in allowed]
    if extra:
        problems.append(
            f"unknown column(s) {extra}; an outcome file holds only {', '.join(allowed)} "
            "(`row` optional): drop the others"
        )
    return problems


def _id_problems(df: pd.DataFrame) -> list[str]:
    ids = df[REQUEST_ID]
    blank = ids.isna() | (ids.astype("str").str.strip() == "")
    problems = []
    if blank.any():
        problems.append(
            f"column {REQUEST_ID!r}: empty in {int(blank.sum())} row(s), lines {_rows(blank)}"
        )
    if ROW in df:
        rows = pd.to_numeric(df[ROW], errors="coerce")
        bad = rows.isna() | (rows < 0) | (rows != rows.round())
        if bad.any():
            problems.append(
                f"column {ROW!r}: not a whole number >= 0 in {int(bad.sum())} row(s), lines "
                f"{_rows(bad)}; e.g. {_examples(df.loc[bad, ROW])}"
            )
    return problems


def _target_values(values: pd.Series, contract: Contract) -> pd.Series:
    """The target as the contract types it; what does not convert becomes missing."""
    if contract.target_dtype() == "str":
        return values.astype("str").where(values.notna(), None)
    return pd.to_numeric(values, errors="coerce")


def _target_problems(values: pd.Series, contract: Contract) -> list[str]:
    name = contract.target
    missing = values.isna()
    problems = []
    if missing.any():
        problems.append(
            f"column {name!r}: missing in {int(missing.sum())} row(s), lines {_rows(missing)}"
        )
    typed = _target_values(values, contract)
    if contract.classification:
        bad = ~missing & ~typed.isin(list(contract.classes))
        expected = f"a class of the contract {list(contract.classes)}"
    else:
        bad = ~missing & ~np.isfinite(typed.fillna(np.inf))
        expected = "a finite number"
    if bad.any():
        problems.append(
            f"column {name!r}: {int(bad.sum())} value(s) are not {expected} "
            f"(lines {_rows(bad)}); e.g. {_examples(values[bad])}"
        )
    return problems


def _duplicate_problems(df: pd.DataFrame) -> list[str]:
    dup = df.duplicated([REQUEST_ID, ROW], keep=False)
    if not dup.any():
        return []
    return [
        f"{int(dup.sum())} row(s) repeat a ({REQUEST_ID}, {ROW}) pair (lines {_rows(dup)}); "
        f"e.g. {_examples(df.loc[dup, REQUEST_ID])}: one outcome per predicted record"
    ]


def check(df: pd.DataFrame, contract: Contract, source: str) -> pd.DataFrame:
    """The file as stored (request_id str, row int, target in the contract's dtype), or
    ``DataValidationError`` listing every problem."""
    problems = _column_problems(df, contract)
    if not problems and df.empty:
        problems.append("no rows")
    if not problems:
        problems = _id_problems(df)
        problems += _target_problems(df[contract.target], contract)
    if not problems:
        out = pd.DataFrame(
            {
                REQUEST_ID: df[REQUEST_ID].astype("str").str.strip(),
                ROW: pd.to_numeric(df[ROW]).astype("int64") if ROW in df else 0,
                contract.target: _target_values(df[contract.target], contract).astype(
                    contract.target_dtype()
                ),
            }
        )
        problems = _duplicate_problems(out)
    if problems:
        raise DataValidationError(
            f"{source}: not a valid outcome file for contract.yaml "
            f"(target {contract.target!r}, task {contract.task}); nothing was stored:\n  - "
            + "\n  - ".join(problems)
        )
    return out


# ---------------------------------------------------------------------------- store


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _write(df: pd.DataFrame, folder: Path, now: datetime) -> Path:
    """Write atomically: a reader (or a crash) never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"outcomes-{_stamp(now)}.parquet"
    tmp = folder / f".{dest.name}.tmp"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, dest)
    return dest


def _dvc_add(root: Path, store: Path, written: Path) -> str:
    try:
        tools.dvc("add", store.relative_to(root).as_posix(), cwd=root)
    except (MlopsError, ValueError) as exc:
        written.unlink(missing_ok=True)
        raise OutcomesError(
            f"`dvc add {store}` failed, the new file was removed again ({exc}); run from the "
            "repository root, or pass --no-dvc to keep outcomes outside DVC"
        ) from exc
    return f"{store.relative_to(root).as_posix()}.dvc"


def read(file: str | Path) -> pd.DataFrame:
    """The outcome file with ``request_id`` as text exactly as written. pandas reads a CSV
    column of digits as numbers (``00123`` -> 123), which would never join the log's ids."""
    table = read_raw(file)
    if Path(file).suffix != ".parquet" and REQUEST_ID in table:
        table[REQUEST_ID] = pd.read_csv(file, usecols=[REQUEST_ID], dtype="str")[REQUEST_ID]
    return table


def ingest(
    root: str | Path,
    file: str | Path,
    env: str,
    *,
    store: str | Path | None = None,
    dvc_add: bool = True,
    now: datetime | None = None,
    log_dir: str | Path | None = None,
) -> Ingested:
    """Check ``file`` against the contract and store it for ``env`` (see the module doc);
    count the rows that join no prediction logged under ``log_dir`` (default logs/predictions)."""
    from mlops.feedback import join
    from mlops.formats import predlog

    root = Path(root)
    environments.load(env, root)
    contract = load_contract(root)
    table = check(read(file), contract, str(file))
    now = now or datetime.now(UTC)
    table[INGESTED_AT] = pd.Timestamp(now.astimezone(UTC))
    folder = env_dir(root, env, store)
    written = _write(table, folder, now)
    dvc_file = None
    if dvc_add:
        dvc_file = _dvc_add(root, root / (store or OUTCOMES_DIR), written)
    try:
        count = join.unjoined(table, root / (log_dir or predlog.DEFAULT_DIR), env)
    except join.LogError:
        count = None  # a log of another format: `mlops performance` names the file
    return Ingested(env, written, len(table), dvc_file, count)


def load(
    root: str | Path, env: str, contract: Contract, store: str | Path | None = None
) -> pd.DataFrame:
    """Every stored outcome of ``env``: request_id, row, target, ingested_at, file; a later
    ingest of the same (request_id, row) replaces an earlier one. Empty when none."""
    frames = []
    for path in files(root, env, store):
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise OutcomesError(f"{path}: cannot read ({exc}); remove or re-ingest it") from exc
        missing = [c for c in (REQUEST_ID, ROW, contract.target) if c not in frame]
        if missing:
            raise OutcomesError(
                f"{path}: lacks {missing}; it was stored under another contract (target now "
                f"{contract.target!r}). Move it out of {env_dir(root, env, store)}"
            )
        frame["file"] = path.name
        frames.append(frame[[REQUEST_ID, ROW, contract.target, "file"]])
    if not frames:
        return pd.DataFrame(
            {REQUEST_ID: pd.Series(dtype="str"), ROW: pd.Series(dtype="int64"),
             contract.target: pd.Series(dtype=contract.target_dtype()),
             "file": pd.Series(dtype="str")}
        )  # fmt: skip
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates([REQUEST_ID, ROW], keep="last").reset_index(drop=True)
