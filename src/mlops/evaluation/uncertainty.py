"""How sure a metric is: bootstrap standard errors, and when a gate may call a shortfall real.

Gates compare numbers measured on finite rows. A gap between two segments of a few dozen rows,
or a regression of a hundredth on a small holdout, is often noise. Here:

- ``standard_errors``: each metric's bootstrap standard error on a set of rows (``REPLICATES``
  resamples of at most ``MAX_ROWS`` rows, the spread scaled by sqrt(resampled / real rows);
  seeded, so a retrain writes the same bytes);
- ``paired_standard_errors``: the standard error of the *difference* between two models scored
  on the same rows (resampled together, so what they share cancels);
- ``beyond_noise``: a shortfall counts only when it stays above its allowance at ``CONFIDENCE``
  (one-sided): ``shortfall - Z * se > allowance``;
- ``too_small``: a set of rows too small to judge (fewer than ``MIN_ROWS``, or, binary, fewer
  than ``MIN_CLASS_ROWS`` rows of either class).
"""

from __future__ import annotations

import math

import numpy as np

from mlops.evaluation import binary_counts, scoring

REPLICATES = 50  # enough for a standard error (Efron and Tibshirani: 50 to 200)
MAX_ROWS = 2000  # a larger set: resampled at this size, its spread scaled by sqrt(m / n)
CONFIDENCE = 0.95
Z = 1.6449  # one-sided 95 %
MIN_ROWS = 30
MIN_CLASS_ROWS = 5
_SEED = 20


def too_small(y, contract) -> str:
    """Why these rows are too few to judge a metric on ("" when they are enough)."""
    y = np.asarray(y)
    if len(y) < MIN_ROWS:
        return f"{len(y)} rows (fewer than {MIN_ROWS})"
    if contract.task == "binary":
        positives = int((y == contract.positive).sum())
        fewest = min(positives, len(y) - positives)
        if fewest < MIN_CLASS_ROWS:
            return f"{fewest} rows of one class (fewer than {MIN_CLASS_ROWS})"
    return ""


def _draws(n: int) -> tuple[np.ndarray, float]:
    """Resample indices (REPLICATES x m) and the factor that scales their spread to n rows."""
    m = min(n, MAX_ROWS)
    rng = np.random.default_rng(_SEED)
    return rng.integers(0, n, size=(REPLICATES, m)), math.sqrt(m / n)


def _spread(rows: list[dict[str, float]], scale: float) -> dict[str, float]:
    out = {}
    for metric in rows[0] if rows else ():
        values = np.array([r[metric] for r in rows], dtype="float64")
        values = values[~np.isnan(values)]
        if len(values) >= REPLICATES // 2:
            out[metric] = round(float(values.std(ddof=1)) * scale, 6)
    return out


def _resampled(y, p: scoring.Predictions, contract, draws: np.ndarray) -> list[dict[str, float]]:
    """The task's metrics on each resample; binary ones counted in numpy (``binary_counts``:
    scikit-learn's per-call input checks cost more than the arithmetic here)."""
    if contract.task == "binary":
        return binary_counts.resampled(y, p, contract, draws)
    return [scoring.score(y[i], scoring.subset(p, i), contract) for i in draws]


def standard_errors(y, p: scoring.Predictions, contract) -> dict[str, float]:
    """Each of the task's metrics' bootstrap standard error on these rows ({} with < 2 rows)."""
    y = np.asarray(y)
    if len(y) < 2:
        return {}
    draws, scale = _draws(len(y))
    return _spread(_resampled(y, p, contract, draws), scale)


def paired_standard_errors(
    y, first: scoring.Predictions, second: scoring.Predictions, contract
) -> dict[str, float]:
    """The bootstrap standard error of ``metric(first) - metric(second)`` on the same rows."""
    y = np.asarray(y)
    if len(y) < 2:
        return {}
    draws, scale = _draws(len(y))
    a, b = _resampled(y, first, contract, draws), _resampled(y, second, contract, draws)
    rows = [{m: x[m] - z[m] for m in x if m in z} for x, z in zip(a, b, strict=True)]
    return _spread(rows, scale)


def beyond_noise(shortfall: float, allowance: float, se: float | None) -> bool:
    """True when ``shortfall`` exceeds ``allowance`` with ``CONFIDENCE`` (one-sided); without a
    standard error, the point estimate decides."""
    return shortfall - Z * (se or 0.0) > allowance


def interval(value: float, se: float | None) -> str:
    """``0.216 ± 0.094`` (the two-sided 95 % half-width, 1.96 se), or the value alone."""
    if not se:
        return f"{value:g}"
    return f"{value:g} ± {1.96 * se:.3g}"
