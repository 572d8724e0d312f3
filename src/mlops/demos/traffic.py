"""Traffic made from the data itself: what `make demo` sends to its servers and the monitoring
tests log, for whatever table the repository adopted.

Records are rows of the table (features only), drawn with a seed. ``drift`` > 0 moves the
population the way real traffic drifts: every numeric feature shifts by ``drift`` of its standard
deviation (clipped to the contract's range, so the server still accepts every record) and each
category column's rarest category becomes ``1 + 3 * drift`` times as likely.

``labelled`` draws rows the same way but keeps each row's real target aside (the outcome that
arrives later) and can also change what the numbers mean: ``mirror`` first mirrors every numeric
feature within the table's observed range (the highest value becomes the lowest), so the
relation between features and outcome is no longer the one a model learned from the table. It
draws without replacement and can leave out rows an earlier draw used, so a model retrained on
one draw is judged on rows it never saw.

``moved_population`` fixes, once, which rows the moved population is made of and in what order
rounds use them (``take``): every round is then a sample of the same population. Drawing each
round by weight from the rows left instead would use up the boosted rows first, so each later
round would hold fewer of them: another population, and a live figure that drifts from round to
round for that reason alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.formats.contract import Contract, load_contract

RAREST_BOOST = 3.0  # per unit of drift
MOVED_SHARE = 0.75  # of the table's labelled rows: about this many make the moved population


def _weights(frame: pd.DataFrame, contract: Contract, drift: float) -> np.ndarray | None:
    if drift <= 0:
        return None
    weights = np.ones(len(frame))
    for name in contract.categorical:
        counts = frame[name].value_counts()
        if len(counts) > 1:
            weights *= np.where(frame[name] == counts.index[-1], 1 + RAREST_BOOST * drift, 1.0)
    return weights / weights.sum()


def _shift(
    frame: pd.DataFrame,
    contract: Contract,
    drift: float,
    mirror: dict[str, tuple] | None = None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Numeric features moved by ``drift`` standard deviations (of ``table``'s column, else of
    ``frame``'s), after mirroring each within ``mirror[name]`` = (low, high) when given, then
    clipped to the contract's range."""
    frame = frame.copy()
    for name in contract.numeric:
        col = contract.by_name[name]
        values = frame[name].astype("float64")
        std = float((table if table is not None else frame)[name].astype("float64").std())
        if mirror:
            low, high = mirror[name]
            values = low + high - values
        moved = (values + drift * (std if std == std and std > 0 else 1.0)).clip(col.low, col.high)
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
    return _as_records(frame, contract)


@dataclass
class Labelled:
    """Request records and, in the same order, the real target of the row each was made from."""

    records: list[dict[str, Any]]
    outcomes: list[Any]
    rows: pd.Index  # the table's index labels of those rows


def labelled(
    table: pd.DataFrame,
    contract: Contract,
    rows: int,
    *,
    seed: int = 7,
    drift: float = 0.0,
    mirror: bool = False,
    exclude: pd.Index | None = None,
) -> Labelled:
    """Up to ``rows`` distinct rows of ``table`` outside ``exclude``, as request records (moved
    by ``drift`` and ``mirror``, see the module docstring) with their real targets."""
    pool = table if exclude is None else table.drop(index=exclude, errors="ignore")
    pool = pool[pool[contract.target].notna()]
    features = pool[list(contract.features)]
    if pool.empty:  # every row used already: nothing to draw from
        return Labelled([], [], pool.index)
    rng = np.random.default_rng(seed)
    picked = rng.choice(
        len(pool), size=min(rows, len(pool)), replace=False, p=_weights(features, contract, drift)
    )
    return _made(table, pool.index[picked], contract, drift, mirror)


def moved_population(
    table: pd.DataFrame, contract: Contract, *, drift: float, seed: int, share: float = MOVED_SHARE
) -> pd.Index:
    """The labelled rows the moved population is made of, in the order rounds use them: each
    row kept with probability ``min(1, c * weight)``, ``c`` such that about ``share`` of them
    are kept (so the kept rows hold the drifted mix of categories), then in a uniform random
    order, so rounds taken one after another all hold that same mix."""
    pool = table[table[contract.target].notna()]
    rng = np.random.default_rng(seed)
    weights = _weights(pool[list(contract.features)], contract, drift)
    kept = pool.index
    if weights is not None:
        kept = pool.index[rng.random(len(pool)) < _inclusion(weights, share * len(pool))]
    return kept[rng.permutation(len(kept))]


def _inclusion(weights: np.ndarray, size: float) -> np.ndarray:
    """``min(1, c * weights)`` with ``c`` found by bisection so that they sum to ``size``."""
    low, high = 0.0, 1.0 / float(weights.min())  # at ``high`` every row is kept
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if np.minimum(1.0, mid * weights).sum() < size else (low, mid)
    return np.minimum(1.0, high * weights)


def take(
    table: pd.DataFrame,
    contract: Contract,
    order: pd.Index,
    rows: int,
    *,
    used: pd.Index | None = None,
    drift: float = 0.0,
    mirror: bool = False,
) -> Labelled:
    """The next ``rows`` rows of ``order`` (``moved_population``) outside ``used``, as request
    records moved by ``drift`` and ``mirror``, with their real targets; none when all are used."""
    left = order if used is None else order[~order.isin(used)]
    return _made(table, left[:rows], contract, drift, mirror)


def _made(
    table: pd.DataFrame, index: pd.Index, contract: Contract, drift: float, mirror: bool
) -> Labelled:
    """Rows ``index`` of ``table`` as request records (moved) with their real targets."""
    frame = table.loc[index, list(contract.features)]
    if drift > 0 or mirror:
        ranges = {n: (table[n].min(), table[n].max()) for n in contract.numeric}
        frame = _shift(frame, contract, drift, ranges if mirror else None, table)
    targets = [_plain(v) for v in table.loc[index, contract.target].astype(object)]
    return Labelled(_as_records(frame.reset_index(drop=True), contract), targets, frame.index)


def _as_records(frame: pd.DataFrame, contract: Contract) -> list[dict[str, Any]]:
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
