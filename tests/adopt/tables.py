"""Small tables of each task, made here: the adoption tests never read the workspace's data."""

from __future__ import annotations

import numpy as np
import pandas as pd


def binary(n: int = 600, seed: int = 1) -> pd.DataFrame:
    """String labels yes/no, a categorical segment, nulls, an id column and a constant."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    age = rng.normal(50, 10, n)
    usage = rng.exponential(2, n)
    plan = rng.choice(["basic", "pro"], n)
    logit = 0.1 * (age - 50) + 0.5 * usage - 1 + (plan == "pro")
    bought = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    usage = np.where(rng.random(n) < 0.04, np.nan, usage)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "age": age.round(1),
            "usage": usage.round(3),
            "plan": plan,
            "country": segment,
            "constant": 7,
            "bought": bought,
        }
    )


def multiclass(n: int = 600, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    score = a + 0.5 * b
    grade = np.select([score < -0.5, score < 0.5], ["low", "mid"], "high")
    return pd.DataFrame(
        {"a": a.round(4), "b": b.round(4), "color": rng.choice(["red", "green"], n), "grade": grade}
    )


def regression(n: int = 600, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sqm, rooms = rng.uniform(30, 250, n), rng.integers(1, 7, n)
    city = rng.choice(["x", "y", "z"], n)
    price = 1000 * sqm + 15000 * rooms + 40000 * (city == "x") + rng.normal(0, 20000, n)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "sqm": sqm.round(1),
            "rooms": rooms,
            "city": city,
            "price": price.round(2),
        }
    )
