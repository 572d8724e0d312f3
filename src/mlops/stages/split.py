"""split: every row keeps its side for good, so a growing table never leaks.

A row's identity (``row_id``) is a stable 64-bit hash of the contract's ``id`` column when it
declares one, else of the row's content (every column but the target). Its side follows from
that identity and ``split.seed`` alone: ``holdout`` for a ``holdout_size`` share, then
``validation`` (threshold choice) for a ``validation_size`` share of the rest, else ``train``.
Adding rows (`mlops data refresh`) therefore only adds rows to each side: a row that was in a
holdout stays there, and a model never trains on a row an older version was judged on.

``artifacts/split/row_ids.csv`` records every row's identity, side and source, in table order.
DVC pins it in dvc.lock, so a version's tag points at the exact rows it trained on;
`mlops.quality.champion` reads it to compare two versions on rows neither trained on. ``source``
is ``traffic`` for the newest rows `mlops data refresh` added from labelled live traffic
(data/refresh.json, ``mlops.formats.refresh_state``), else ``table``: the evaluate stage also
scores the version on the holdout rows from traffic, the population it will serve.
"""

from __future__ import annotations

import binascii
from typing import Any

import numpy as np
import pandas as pd

from mlops.core import paths
from mlops.formats import params, refresh_state
from mlops.formats.contract import Contract, load_contract
from mlops.formats.schema import write_table

SIDES = ("train", "validation", "holdout")
TRAFFIC, TABLE = "traffic", "table"  # row_ids.csv ``source``
# pandas' SipHash key: fixed, so an identity never depends on the library's defaults.
_KEY = "mlops-row-ident1"
_SCALE = float(2**64)


def _canonical(column: pd.Series) -> pd.Series:
    """A column as the hash reads it: numbers (and booleans) as float64, so an int column that
    gains a null keeps its rows' identities, with one NaN and no negative zero; everything else
    as text, missing as the empty string."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        values = pd.to_numeric(column, errors="coerce").astype("float64").to_numpy()
        return pd.Series(np.where(np.isnan(values), np.nan, values + 0.0), index=column.index)
    return column.astype("string").fillna("").astype(object)


def _hash(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    values = pd.DataFrame({c: _canonical(df[c]) for c in columns})
    return pd.util.hash_pandas_object(values, index=False, hash_key=_KEY).to_numpy(np.uint64)


def row_ids(df: pd.DataFrame, contract: Contract) -> np.ndarray:
    """Each row's stable identity (uint64): its ``id`` column's value, else its content. A row
    whose id is missing (rows `mlops data refresh` adds: the log never holds a column that is
    not a feature) is identified by its content, so those rows do not all share one side."""
    ident = contract.id_column
    content = [c.name for c in contract.columns if c.name in df.columns and c.name != ident]
    if not ident:
        return _hash(df, content)
    ids = _hash(df, [ident]).copy()
    missing = df[ident].isna().to_numpy()
    if missing.any():
        ids[missing] = _hash(df[missing], content)
    return ids


def _mix(ids: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of (identity + seed): a uniform draw in [0, 1) per row, fixed for good."""
    with np.errstate(over="ignore"):
        z = ids + np.uint64(0x9E3779B97F4A7C15) * np.uint64(seed + 1)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z.astype("float64") / _SCALE


def sides(ids: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """``train`` | ``validation`` | ``holdout`` per row, from its identity and the seed."""
    u = _mix(ids, int(settings["seed"]))
    holdout = float(settings["holdout_size"])
    validation = holdout + (1 - holdout) * float(settings.get("validation_size", 0.0))
    return np.where(u < holdout, "holdout", np.where(u < validation, "validation", "train"))


def hex_ids(ids: np.ndarray) -> np.ndarray:
    """Each identity as 16 lowercase hex digits (big-endian bytes, hexlified in one call: a
    million rows in a fraction of a second, where formatting each number took seconds)."""
    raw = binascii.hexlify(np.asarray(ids, dtype=np.uint64).astype(">u8").tobytes())
    return np.frombuffer(raw, dtype="S16").astype(str)


def sources(rows: int, from_traffic: int) -> np.ndarray:
    """``table`` | ``traffic`` per row: the newest ``from_traffic`` rows came from traffic."""
    return np.where(np.arange(rows) >= rows - from_traffic, TRAFFIC, TABLE)


def split(
    df: pd.DataFrame, settings: dict[str, Any], contract: Contract, from_traffic: int = 0
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The three sides (rows in table order) and the row-identity table (``row_id``, ``side``,
    ``source``; the newest ``from_traffic`` rows came from live traffic)."""
    ids = row_ids(df, contract)
    side = sides(ids, settings)
    parts = {name: df[side == name] for name in SIDES}
    source = sources(len(df), from_traffic)
    return parts, pd.DataFrame({"row_id": hex_ids(ids), "side": side, "source": source})


def main() -> int:
    contract = load_contract()
    table = contract.read_table(contract.data)
    from_traffic = refresh_state.newest_from_traffic(refresh_state.read(), len(table))
    parts, ids = split(table, params.section("split"), contract, from_traffic)
    write_table(parts["train"], paths.TRAIN)
    write_table(parts["validation"], paths.VALIDATION_SPLIT)
    write_table(parts["holdout"], paths.HOLDOUT)
    write_table(ids, paths.ROW_IDS)
    counts = ", ".join(f"{len(parts[s])} {s}" for s in SIDES)
    traffic = f"; the newest {from_traffic} from live traffic" if from_traffic else ""
    print(f"split: {counts} rows (by row identity; {paths.ROW_IDS}{traffic})")
    return 0


if __name__ == "__main__":
    from mlops.core.cli_support import run_stage

    run_stage(main)
