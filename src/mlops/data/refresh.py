"""`mlops data refresh`: the next training table = the current table + labelled live traffic.

Labelled traffic: the environment's logged predictions of the last ``refresh.window_days``
(params.yaml) joined to the outcomes ingested since the last refresh (``mlops.feedback.join``),
the most recent ``refresh.max_rows`` of them, as rows of the contract's columns and target. A
column the log does not hold (``feature: false``) or holds only as a hash (``personal: true``)
is null in those rows, so the contract must allow nulls there or the refresh is refused.
A labelled row identical to a row the table already holds (or to an earlier added one) on every
column the log records (features and target) is not added again: it carries no new information,
the validate stage counts duplicates against ``validate.max_duplicate_share``, and a row the table
holds with its id would otherwise return without it, on either side of the split (a copy of a
holdout row in train); how many were skipped is reported.

The new table is validated exactly as the validate stage does (contract.yaml, params.yaml
``validate``); only a valid table replaces ``contract.data`` (written to a temporary file and
moved into place), and ``dvc add data`` pins it in data.dvc. ``data/refresh.json`` records
which outcome files were used, so running it again adds nothing twice; no new outcome means no
change at all.

``data/refresh.json`` also records how many of the table's newest rows came from live traffic
(``traffic``: those rows and the table's length then): the split marks them in
artifacts/split/row_ids.csv and the evaluate stage scores the version on the holdout rows among
them too, the population it will be judged on live (``mlops.formats.refresh_state``).

Rows are appended, so a row's position is its age (``mlops.data.recency``): ``refresh.keep_rows``
keeps only the newest N rows (the oldest drop out, counted in ``rows_dropped``), and
``train.recency.half_life`` makes the retrain weigh newer rows more; the result says what the
retrain will learn from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from mlops.core import paths, tools
from mlops.core.errors import DataValidationError
from mlops.data import recency
from mlops.feedback import join, outcomes
from mlops.formats import params, predlog, refresh_state
from mlops.formats.contract import Contract, load_contract
from mlops.formats.schema import coerce, write_table
from mlops.stages import validate


@dataclass
class Refreshed:
    env: str
    data: str
    rows_before: int
    rows_added: int
    outcome_files: list[str] = field(default_factory=list)
    labelled_available: int = 0  # labelled predictions in the window, before the cap
    duplicates_skipped: int = 0  # labelled rows identical to one the table already holds
    rows_dropped: int = 0  # the oldest rows beyond refresh.keep_rows
    dvc_file: str | None = None
    recency: str = ""  # what the retrain will learn from (params.yaml train.recency)

    @property
    def changed(self) -> bool:
        return self.rows_added > 0

    def to_dict(self) -> dict:
        return {**self.__dict__, "changed": self.changed}


def new_outcomes(root: Path, env: str, contract: Contract, state: dict, store=None):
    """Outcomes from files no earlier refresh used."""
    known = outcomes.load(root, env, contract, store)
    used = set(state.get("outcome_files", {}).get(env, []))
    return known[~known["file"].isin(used)]


def traffic_rows(labelled: pd.DataFrame, contract: Contract, cap: int) -> pd.DataFrame:
    """The newest ``cap`` labelled predictions as rows of the table (contract order)."""
    rows = labelled[labelled[contract.target].notna()]
    rows = rows.sort_values("ts", kind="stable").tail(cap)
    out = pd.DataFrame(index=rows.index)
    for col in contract.columns:
        logged = col.name in rows and not col.personal
        out[col.name] = rows[col.name] if logged else None
    out[contract.target] = rows[contract.target]
    return out.reset_index(drop=True)


def logged_columns(contract: Contract) -> list[str]:
    """The columns a labelled row brings from the log: the features not marked personal, and
    the target (the others are null in added rows)."""
    personal = set(contract.personal)
    return [n for n in contract.features if n not in personal] + [contract.target]


def without_repeats(
    table: pd.DataFrame, first_added: int, columns: list[str] | None = None
) -> tuple[pd.DataFrame, int]:
    """``table`` without the added rows (from position ``first_added``) that repeat an earlier
    row on ``columns`` (default: all); and how many were dropped. Repeats inside the current
    table are left alone."""
    repeat = table.duplicated(subset=columns, keep="first").to_numpy(copy=True)
    repeat[:first_added] = False
    return table[~repeat].reset_index(drop=True), int(repeat.sum())


def combine(current: pd.DataFrame, added: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    table = pd.concat([current, added[current.columns]], ignore_index=True)
    table = coerce(table, contract)
    for col in contract.columns:
        if col.numeric and col.name in table:
            table[col.name] = pd.to_numeric(table[col.name], errors="coerce")
            if col.kind == "int" and not table[col.name].isna().any():
                table[col.name] = table[col.name].astype("int64")
    if contract.target_dtype() == "int64":
        table[contract.target] = table[contract.target].astype("int64")
    return table


def _write_table(table: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".parquet":
        table.to_parquet(tmp, index=False)
    else:
        write_table(table, tmp)
    os.replace(tmp, path)


def _check(table: pd.DataFrame, contract: Contract, root: Path, data: str) -> None:
    report = validate.validate(table, params.load(root / params.PARAMS_FILE)["validate"], contract)
    if not report["valid"]:
        raise DataValidationError(
            f"{data} + labelled traffic: {validate.describe(report)}\nnothing was written; "
            "fix the contract (e.g. nullable: true for a column the log lacks) or the outcomes"
        )


def refresh(
    root: str | Path = ".",
    env: str = "production",
    *,
    log_dir: str | Path | None = None,
    store: str | Path | None = None,
    now: datetime | None = None,
    dvc_add: bool = True,
) -> Refreshed:
    """Build, check and write the next training table (see the module doc)."""
    root = Path(root)
    contract = load_contract(root)
    loaded = params.load(root / params.PARAMS_FILE)
    settings = loaded["refresh"]
    state = refresh_state.read(root)
    known = new_outcomes(root, env, contract, state, store)
    log_dir = Path(log_dir) if log_dir is not None else root / predlog.DEFAULT_DIR
    window = timedelta(days=settings["window_days"])
    logged = join.read_log(log_dir, env, since=window, now=now, features=True)
    labelled = join.label(logged.frame, known, contract.target)
    added = traffic_rows(labelled, contract, settings["max_rows"])
    data_path = root / contract.data
    current = contract.read_table(data_path)
    result = Refreshed(
        env, contract.data, len(current), len(added),
        sorted(set(known["file"])), int(labelled[contract.target].notna().sum()),
    )  # fmt: skip
    result.recency = recency.settings(loaded["train"]).describe()
    if added.empty:
        return result
    # compared on what the log holds: a row the table holds with its id (which the log never
    # records) comes back without it, would be identified by its content and could land on the
    # other side of the split, so a version could train on a copy of a row it is judged on
    table, result.duplicates_skipped = without_repeats(
        combine(current, added, contract), len(current), logged_columns(contract)
    )
    result.rows_added = len(table) - len(current)
    if not result.changed:
        return result
    table, result.rows_dropped = recency.keep_newest(table, settings["keep_rows"])
    _check(table, contract, root, contract.data)
    _write_table(table, data_path)
    used = state.setdefault("outcome_files", {}).setdefault(env, [])
    used += [f for f in result.outcome_files if f not in used]
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    state["last"] = {"env": env, "at": at, "rows_added": result.rows_added,
                     "rows_dropped": result.rows_dropped}  # fmt: skip
    state[refresh_state.TRAFFIC] = refresh_state.traffic_after(
        state, len(current), result.rows_added, len(table)
    )
    refresh_state.write(state, root)
    if dvc_add:
        tools.dvc("add", paths.DATA_DIR, cwd=root)
        result.dvc_file = paths.DATA_DVC
    return result
