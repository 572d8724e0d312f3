"""Recency for a population that moves: how much each training row counts, and how many rows
the table keeps.

`mlops data refresh` appends labelled live traffic to the end of the table, so a row's position
in the table is its age: the last row is the newest. When the population moves, old rows keep
teaching the old relation; params.yaml lets the team choose the answer, and the version records
it with the other params:

- ``train.recency.half_life: H`` weighs a row N rows older than the newest ``0.5 ** (N / H)``
  (0: every row weighs the same), so the old population still informs what the new one does
  not cover, but newer rows count more: for a population that drifts gradually (the holdout
  still weighs every row alike);
- ``refresh.keep_rows: N`` (`mlops data refresh`, ``keep_newest``) keeps only the newest N rows
  in the table: for a population that moved, training, the holdout and the gates all follow
  the new one.

Positions come from the table itself (``contract.data``): each training row is found there by the
hash of its values (the newest copy of a repeated row), whatever order the split wrote it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.core.errors import MlopsError
from mlops.formats.contract import Contract

KEY = "recency"  # params.yaml train.recency


@dataclass(frozen=True)
class Recency:
    half_life: float = 0  # rows; 0 = equal weights

    @property
    def active(self) -> bool:
        return self.half_life > 0

    def describe(self) -> str:
        if self.half_life:
            return f"every row, weights halving every {self.half_life:,g} rows back"
        return "every row, equal weights"


def settings(train: dict[str, Any]) -> Recency:
    """``train.recency`` of the train section params.py checked (absent: off)."""
    return Recency(half_life=float((train.get(KEY) or {}).get("half_life", 0)))


def _row_hashes(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(df[columns], index=False).to_numpy()


def ages(train: pd.DataFrame, table: pd.DataFrame, contract: Contract) -> np.ndarray:
    """For each training row: how many rows of ``table`` are newer than its newest copy."""
    columns = [c.name for c in contract.columns] + [contract.target]
    newest = pd.Series(np.arange(len(table)), index=_row_hashes(table, columns))
    newest = newest[~newest.index.duplicated(keep="last")]
    found = newest.reindex(_row_hashes(train, columns))
    if found.isna().any():
        raise MlopsError(
            f"{int(found.isna().sum())} training row(s) are not in {contract.data}: the split is "
            "out of date; run `dvc repro`"
        )
    return (len(table) - 1 - found.to_numpy()).astype("int64")


def apply(
    train: pd.DataFrame, settings_: dict[str, Any], contract: Contract, root: str | Path = "."
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """(training rows to fit, their sample weights or None) under ``train.recency`` of the
    train settings ``settings_``; the table is read only when recency is on."""
    chosen = settings(settings_)
    if not chosen.active:
        return train, None
    return weigh(train, contract.read_table(Path(root) / contract.data), chosen, contract)


def weigh(
    train: pd.DataFrame, table: pd.DataFrame, recency: Recency, contract: Contract
) -> tuple[pd.DataFrame, np.ndarray | None]:
    if not recency.active:
        return train, None
    return train, 0.5 ** (ages(train, table, contract) / recency.half_life)


def keep_newest(table: pd.DataFrame, keep_rows: int) -> tuple[pd.DataFrame, int]:
    """(the newest ``keep_rows`` rows of ``table``, how many older ones dropped out); 0 keeps
    every row."""
    if not keep_rows or len(table) <= keep_rows:
        return table, 0
    return table.tail(keep_rows).reset_index(drop=True), len(table) - keep_rows
