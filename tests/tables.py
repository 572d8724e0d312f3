"""Tables the tests make themselves, one per task, for adopting into a template copy: a binary
table with string labels, a categorical segment and nulls; a multiclass table with string
labels; a regression table. Small, seeded, and learnable (the target follows the columns)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TASKS = ("binary", "multiclass", "regression")
TARGETS = {"binary": "defect", "multiclass": "grade", "regression": "yield_kg"}
SEGMENT = {"binary": "site", "multiclass": None, "regression": None}


def make_table(task: str, rows: int = 600, seed: int = 7) -> pd.DataFrame:
    """Columns: ``temperature`` (float, some nulls in the binary table), ``pressure`` (int),
    ``material`` (category), ``site`` (category) and the task's target."""
    rng = np.random.default_rng(seed)
    temperature = rng.normal(70, 8, rows).round(2)
    pressure = rng.integers(1, 30, rows)
    material = rng.choice(["steel", "copper", "alloy"], rows, p=[0.5, 0.3, 0.2])
    site = rng.choice(["north", "south"], rows)
    signal = (temperature - 70) / 8 + (pressure - 15) / 9 + (material == "alloy") * 1.2
    signal = signal + rng.normal(0, 0.6, rows)
    frame = pd.DataFrame(
        {"temperature": temperature, "pressure": pressure, "material": material, "site": site}
    )
    if task == "binary":
        frame[TARGETS[task]] = np.where(signal > 0.3, "yes", "no")
        frame.loc[rng.random(rows) < 0.03, "temperature"] = np.nan
    elif task == "multiclass":
        frame[TARGETS[task]] = np.select([signal < -0.5, signal < 0.8], ["low", "mid"], "high")
    else:
        frame[TARGETS[task]] = (40 + 6 * signal).round(3)
    return frame


def adopt_args(task: str, path) -> list[str]:
    """`mlops data adopt` arguments for the table written at ``path``."""
    args = ["data", "adopt", str(path), "--target", TARGETS[task], "--task", task]
    if SEGMENT[task]:
        args += ["--segment", SEGMENT[task]]
    if task == "binary":
        args += ["--positive-label", "yes"]
    return args + ["--name", f"{task}-model"]
