"""Traffic made from the data itself: what `make demo` sends to its servers and the monitoring
tests log, for whatever table the repository adopted.

Records are rows of the table (features only), drawn with a seed. ``drift`` > 0 moves the
population the way real traffic drifts: every numeric feature shifts by ``drift`` of its standard
deviation (clipped to the contract's range, so the server still accepts every record) and each
category column's rarest category becomes ``1 + 3 * drift`` times as likely.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.contract import Contract, load_contract

RAREST_BOOST = 3.0  # per unit of drift


def _weights(frame: pd.DataFrame, contract: Contract, drift: float) -> np.ndarray | None:
    if drift <= 0:
        return None
    weights = np.ones(len(frame))
    for name in contract.categorical:
        counts = frame[name].value_counts()
        if len(counts) > 1:
            weights *= np.where(frame[name] == counts.index[-1], 1 + RAREST_BOOST * drift, 1.0)
    return weights / weights.sum()


def _shift(frame: pd.DataFrame, contract: Contract, drift: float) -> pd.DataFrame:
    frame = frame.copy()
    for name in contract.numeric:
        col = contract.by_name[name]
        values = frame[name].astype("float64")
        moved = (values + drift * float(values.std(skipna=True) or 1.0)).clip(col.low, col.high)
        frame[name] = moved.round() if col.kind == "int" else moved.round(6)
    return frame


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None  # as a client sends a missing value
    return value.item() if hasattr(value, "item") else value


def records(
    table: pd.DataFrame, contract: Contract, rows: int, *, seed: int = 7, drift: float = 0.0
) -> list[dict[str, Any]]:
    """``rows`` request records drawn from ``table`` (see the module docstring)."""
    features = table[list(contract.features)]
    rng = np.random.default_rng(seed)
    picked = rng.choice(
        len(features), size=rows, replace=True, p=_weights(features, contract, drift)
    )
    frame = features.iloc[picked].reset_index(drop=True)
    if drift > 0:
        frame = _shift(frame, contract, drift)
    ints = [n for n in contract.numeric if contract.by_name[n].kind == "int"]
    out = []
    for rec in frame.astype(object).to_dict("records"):
        row = {k: _plain(v) for k, v in rec.items()}
        for name in ints:
            if row[name] is not None:
                row[name] = int(row[name])
        out.append(row)
    return out


def workspace_table(root: str | Path = ".") -> tuple[pd.DataFrame, Contract]:
    """The repository's table (``contract.data``) and its contract."""
    contract = load_contract(root)
    return contract.read_table(Path(root) / contract.data), contract
