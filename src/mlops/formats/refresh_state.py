"""data/refresh.json: what `mlops data refresh` used, and which rows of the table came from
live traffic.

It sits beside the table in data/, so data.dvc versions it with the table it describes:

- ``outcome_files``: env -> the outcome files already added (a refresh never adds one twice);
- ``last``: the last refresh (env, time, rows added and dropped);
- ``traffic``: ``rows``, how many of the table's newest rows came from labelled live traffic,
  and ``table_rows``, the table's length when that was written. Refresh appends traffic at the
  end of the table and drops only the oldest rows (``refresh.keep_rows``), so the rows from
  traffic are always the newest ones. A table whose length differs was changed some other way
  (adopted, edited, the sample put back): none of its rows is taken to be traffic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlops.core.errors import MlopsError
from mlops.core.paths import DATA_DIR

FILE = "refresh.json"
TRAFFIC = "traffic"


def path(root: str | Path = ".") -> Path:
    return Path(root) / DATA_DIR / FILE


def read(root: str | Path = ".") -> dict[str, Any]:
    """The state (``{"outcome_files": {}}`` when no refresh has run)."""
    file = path(root)
    if not file.is_file():
        return {"outcome_files": {}}
    try:
        state = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise MlopsError(f"{file}: not valid JSON ({exc}); delete it to start afresh") from exc
    if not isinstance(state, dict):
        raise MlopsError(f"{file}: expected a mapping, got {type(state).__name__}; delete it")
    return state


def write(state: dict[str, Any], root: str | Path = ".") -> None:
    path(root).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def traffic_after(state: dict[str, Any], rows_before: int, added: int, rows_after: int) -> dict:
    """``traffic`` after a refresh that appended ``added`` rows to a table of ``rows_before``
    rows and kept ``rows_after`` of them (the oldest dropped)."""
    earlier = newest_from_traffic(state, rows_before)
    return {"rows": min(earlier + added, rows_after), "table_rows": rows_after}


def newest_from_traffic(state: dict[str, Any], table_rows: int) -> int:
    """How many of the newest rows of a table of ``table_rows`` rows came from live traffic
    (0 when the state does not describe a table of that length)."""
    traffic = state.get(TRAFFIC)
    if not isinstance(traffic, dict) or traffic.get("table_rows") != table_rows:
        return 0
    rows = traffic.get("rows")
    if not isinstance(rows, int) or isinstance(rows, bool) or not 0 <= rows <= table_rows:
        raise MlopsError(
            f"{FILE}: {TRAFFIC}.rows is {rows!r}, expected a whole number from 0 to the table's "
            f"{table_rows} rows; delete the {TRAFFIC} entry (no row is then taken for traffic)"
        )
    return rows
