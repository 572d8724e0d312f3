"""Synthetic records a contract accepts: the warm-up sample every version scores before it is
swapped in. Made from the contract alone (ranges, categories, nullability), so any adopted table
works and a version is warmed up with the table it was trained on."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlops.formats.contract import Column, Contract

NULL_EVERY = 8  # a nullable column is null in every 8th record: the null path is warmed too
_DEFAULT_RANGE = (0.0, 100.0)  # a numeric column with no bound in the contract


def _value(col: Column, rng: np.random.Generator) -> Any:
    if not col.numeric:
        return str(rng.choice(col.categories))
    low = _DEFAULT_RANGE[0] if col.low is None else col.low
    high = max(low, _DEFAULT_RANGE[1] if col.high is None else col.high)
    if col.kind == "int":
        return int(rng.integers(int(np.ceil(low)), int(np.floor(high)) + 1))
    return round(float(rng.uniform(low, high)), 4)


def synthetic_records(contract: Contract, rows: int, seed: int) -> list[dict[str, Any]]:
    """``rows`` records of the contract's features, the same for the same seed."""
    rng = np.random.default_rng(seed)
    features = [c for c in contract.columns if c.feature]
    return [
        {
            c.name: None if c.nullable and i % NULL_EVERY == NULL_EVERY - 1 else _value(c, rng)
            for c in features
        }
        for i in range(rows)
    ]
