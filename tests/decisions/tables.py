"""Tables made in the test: a contract and rows for each case the decisions must get right."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlops.formats.contract import Contract

COLUMNS = {
    "customer_id": {"kind": "int", "min": 0, "max": 10**9, "feature": False},
    "x": {"kind": "float", "min": -100, "max": 100},
    "z": {"kind": "float", "min": -100, "max": 100},
    "region": {"kind": "category", "categories": ["north", "south", "east", "tiny"]},
}


def contract(task: str = "binary", id_column: str | None = "customer_id") -> Contract:
    target = {
        "binary": {"name": "y", "classes": [0, 1], "positive": 1},
        "regression": {"name": "y"},
    }[task]
    raw = {"model": "m", "task": task, "data": "data/t.csv", "target": target,
           "segment": "region", "columns": COLUMNS}  # fmt: skip
    if id_column:
        raw["id"] = id_column
    return Contract.from_dict(raw)


def table(rows: int, seed: int = 0, positive_share: float = 0.3, start_id: int = 0,
          task: str = "binary", tiny: int = 0) -> pd.DataFrame:  # fmt: skip
    """``rows`` rows whose target depends on x and z; ``tiny`` of them in the region "tiny"."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=rows), rng.normal(size=rows)
    region = rng.choice(["north", "south", "east"], size=rows).astype(object)
    region[:tiny] = "tiny"
    signal = 1.5 * x - z
    if task == "binary":
        cut = np.quantile(signal + rng.normal(size=rows), 1 - positive_share)
        y = ((signal + rng.normal(size=rows)) >= cut).astype("int64")
    else:
        y = signal + rng.normal(scale=0.5, size=rows)
    return pd.DataFrame(
        {"customer_id": np.arange(start_id, start_id + rows), "x": x.round(4), "z": z.round(4),
         "region": region, "y": y}
    )  # fmt: skip
