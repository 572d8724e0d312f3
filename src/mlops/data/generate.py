"""A deterministic generator of a realistic customer-churn table.

Numeric and categorical features, correlated with each other (total charges follow tenure and
monthly charges; fiber costs more), a ``region`` segment whose churn base rate differs, a noisy
binary target, and a few missing values. ``drift`` in [0, 1] shifts the population the way
production traffic drifts: pricier plans, more month-to-month contracts, more support tickets,
a different regional mix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET = "churn"
DEFAULT_ROWS = 20_000
DEFAULT_SEED = 2026

_REGION_BASE = {"north": -0.3, "south": 0.1, "east": 0.0, "west": 0.35}
# The categories the sample draws from (its contract, churn.contract.yaml, lists the same).
CATEGORIES = {
    "region": ("north", "south", "east", "west"),
    "contract": ("month-to-month", "one-year", "two-year"),
    "internet_service": ("dsl", "fiber", "none"),
    "payment_method": ("electronic-check", "mailed-check", "bank-transfer", "credit-card"),
}


def _choice(rng: np.random.Generator, column: str, probs: list[float], n: int) -> np.ndarray:
    cats = np.array(CATEGORIES[column], dtype=object)
    return cats[rng.choice(len(cats), size=n, p=np.asarray(probs) / np.sum(probs))]


def _mix(base: list[float], drifted: list[float], drift: float) -> list[float]:
    return [(1 - drift) * b + drift * d for b, d in zip(base, drifted, strict=True)]


def generate(
    rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, drift: float = 0.0
) -> pd.DataFrame:
    """Return ``rows`` customers; the same arguments always give the same table."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if not 0.0 <= drift <= 1.0:
        raise ValueError(f"drift must be between 0 and 1, got {drift}")
    rng = np.random.default_rng(seed)
    n = rows

    region = _choice(rng, "region", _mix([0.3, 0.25, 0.25, 0.2], [0.1, 0.2, 0.2, 0.5], drift), n)
    contract = _choice(rng, "contract", _mix([0.5, 0.3, 0.2], [0.8, 0.15, 0.05], drift), n)
    internet = _choice(rng, "internet_service", _mix([0.35, 0.45, 0.2], [0.2, 0.7, 0.1], drift), n)
    payment = _choice(rng, "payment_method", [0.35, 0.2, 0.22, 0.23], n)
    senior = (rng.random(n) < 0.16).astype("int64")

    long_contract = np.where(contract == "two-year", 30.0, np.where(contract == "one-year", 15, 0))
    tenure = np.clip(rng.gamma(2.0, 12.0, n) + long_contract, 0, 72).astype("int64")
    plan = np.where(internet == "fiber", 80.0, np.where(internet == "dsl", 55.0, 22.0))
    monthly = np.clip(plan + rng.normal(10 * drift, 12, n) + 8 * senior, 18, 200).round(2)
    total = np.clip(tenure * monthly * rng.normal(1.0, 0.05, n), 0, 60_000).round(2)
    total = np.where((tenure == 0) & (rng.random(n) < 0.8), np.nan, total)
    total = np.where(rng.random(n) < 0.01, np.nan, total)
    tickets = np.clip(rng.poisson(1.2 + 2.5 * drift + 0.8 * (internet == "fiber"), n), 0, 50)

    logit = (
        -1.2
        + 1.4 * (contract == "month-to-month")
        - 0.9 * (contract == "two-year")
        - 0.045 * tenure
        + 0.018 * (monthly - 65)
        + 0.35 * tickets
        + 0.6 * (payment == "electronic-check")
        + 0.4 * senior
        + np.vectorize(_REGION_BASE.get)(region)
        + rng.normal(0, 0.8, n)
    )
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int64")

    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": total,
            "support_tickets": tickets.astype("int64"),
            "senior_citizen": senior,
            "contract": contract.astype(str),
            "payment_method": payment.astype(str),
            "internet_service": internet.astype(str),
            "region": region.astype(str),
            TARGET: churn,
        }
    )
