"""Live metrics with 95 % confidence intervals, cheap enough for millions of rows.

- Metrics of the confusion matrix (accuracy, precision, recall, f1, macro_f1): a bootstrap of the
  rows, done exactly and cheaply by drawing the matrix's cells from a multinomial with the
  observed shares (resampling rows only ever changes those counts); 1,000 draws, seeded, the
  2.5 and 97.5 percentiles.
- ROC AUC: the Hanley-McNeil (1982) standard error, normal interval.
- Means of per-row losses (log_loss, mae): normal interval of the mean; rmse: the interval of
  the mean squared error, square-rooted; r2: 1 - that interval over the outcomes' variance
  (the variance taken as known).

Values follow ``mlops.evaluation.scoring`` (sklearn's definitions, ``zero_division=0``), so a live
number and the holdout number of the same name mean the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

Z95 = 1.959964
DRAWS = 1000
SEED = 0


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in self.__dict__.items()}


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype="float64"), np.asarray(den, dtype="float64")
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


# Each takes confusion matrices of shape (..., k, k): [truth, predicted] counts.
def accuracy(cm: np.ndarray) -> np.ndarray:
    return _div(np.trace(cm, axis1=-2, axis2=-1), cm.sum(axis=(-2, -1)))


def _per_class(cm: np.ndarray):
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    return tp, cm.sum(axis=-2) - tp, cm.sum(axis=-1) - tp  # tp, fp, fn


def precision(cm: np.ndarray, k: int) -> np.ndarray:
    tp, fp, _ = _per_class(cm)
    return _div(tp[..., k], tp[..., k] + fp[..., k])


def recall(cm: np.ndarray, k: int) -> np.ndarray:
    tp, _, fn = _per_class(cm)
    return _div(tp[..., k], tp[..., k] + fn[..., k])


def f1(cm: np.ndarray, k: int) -> np.ndarray:
    tp, fp, fn = _per_class(cm)
    return _div(2 * tp[..., k], 2 * tp[..., k] + fp[..., k] + fn[..., k])


def macro_f1(cm: np.ndarray) -> np.ndarray:
    tp, fp, fn = _per_class(cm)
    return _div(2 * tp, 2 * tp + fp + fn).mean(axis=-1)


def confusion(truth: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """The k x k matrix of class codes 0..k-1: [truth, predicted] counts."""
    return np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k)


def bootstrap(cm: np.ndarray, metric, draws: int = DRAWS, seed: int = SEED) -> Estimate:
    """``metric`` of ``cm`` with the percentile interval of a multinomial row bootstrap."""
    n = int(cm.sum())
    value = float(metric(cm))
    if n == 0:
        return Estimate(value, float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    samples = rng.multinomial(n, cm.ravel() / n, size=draws).reshape(draws, *cm.shape)
    low, high = np.percentile(metric(samples), [2.5, 97.5])
    return Estimate(value, float(low), float(high))


def roc_auc(truth: np.ndarray, score: np.ndarray) -> Estimate | None:
    """None when only one class is present (AUC is undefined)."""
    n1 = int(truth.sum())
    n0 = len(truth) - n1
    if n1 == 0 or n0 == 0:
        return None
    auc = float(skm.roc_auc_score(truth, score))
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)
    se = float(np.sqrt(max(var, 0.0)))
    return Estimate(auc, max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se))


def mean(values: np.ndarray) -> Estimate:
    values = np.asarray(values, dtype="float64")
    m = float(values.mean())
    se = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
    return Estimate(m, m - Z95 * se, m + Z95 * se)


def rmse(errors: np.ndarray) -> Estimate:
    mse = mean(np.asarray(errors, dtype="float64") ** 2)
    return Estimate(np.sqrt(mse.value), np.sqrt(max(mse.low, 0.0)), np.sqrt(mse.high))


def r2(errors: np.ndarray, truth: np.ndarray) -> Estimate | None:
    """sklearn's r2 (1 - SSE / SST) with the mean squared error's interval; None when the
    outcomes are all equal (r2 is undefined)."""
    variance = float(np.var(np.asarray(truth, dtype="float64")))
    if variance == 0:
        return None
    mse = mean(np.asarray(errors, dtype="float64") ** 2)
    return Estimate(1 - mse.value / variance, 1 - mse.high / variance, 1 - mse.low / variance)


def log_loss(truth: np.ndarray, score: np.ndarray) -> Estimate:
    """Binary log loss per row (clipped as sklearn does), then its mean."""
    p = np.clip(np.asarray(score, dtype="float64"), 1e-15, 1 - 1e-15)
    return mean(-(truth * np.log(p) + (1 - truth) * np.log(1 - p)))


def multiclass_log_loss(truth: np.ndarray, proba: np.ndarray) -> Estimate:
    """Multiclass log loss: per row, minus the log of the probability given to the true class
    (``proba`` rows in class-code order, renormalised and clipped as sklearn does)."""
    proba = np.clip(np.asarray(proba, dtype="float64"), 1e-15, 1 - 1e-15)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return mean(-np.log(proba[np.arange(len(truth)), truth]))
