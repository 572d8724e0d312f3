"""The task's metrics on many resamples of the same rows at once (the bootstrap's inner loop).

``scores(y, p, contract, draws)`` gives, for every metric ``mlops.evaluation.scoring.score``
reports, one value per row of ``draws`` (a replicates x rows matrix of row positions): the
same definitions (sklearn's, ``zero_division=0``, log loss clipped at the float's machine
epsilon) and the same rounding to 6 places, computed on whole matrices instead of one sklearn
call per metric and resample: a bootstrap of 50 resamples costs milliseconds, not a second.
``tests/unit/test_resampled.py`` holds it equal to ``scoring.score`` on every resample.

A resample with one class only has no roc_auc or average_precision (NaN), as in ``score``.
Labels outside the model's classes (multiclass) fall back to ``score`` per resample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mlops.evaluation import scoring

if TYPE_CHECKING:
    from mlops.formats.contract import Contract

_EPS = np.finfo("float64").eps


def _div(num, den) -> np.ndarray:
    num, den = np.asarray(num, dtype="float64"), np.asarray(den, dtype="float64")
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _ece(score: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """``scoring._ece`` per row: one bincount over all rows, each row's bins offset."""
    reps, m = score.shape
    bins = np.minimum((score * scoring.CALIBRATION_BINS).astype(int), scoring.CALIBRATION_BINS - 1)
    offset = bins + scoring.CALIBRATION_BINS * np.arange(reps)[:, None]
    gap = np.bincount(offset.ravel(), weights=(score - hit).ravel(),
                      minlength=reps * scoring.CALIBRATION_BINS)  # fmt: skip
    return np.abs(gap.reshape(reps, -1)).sum(axis=1) / m


def _ranking(truth: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """(roc_auc, average_precision) of one resample, as sklearn computes them: the ROC area
    by average ranks (ties count half), AP over the distinct score thresholds."""
    positives = int(truth.sum())
    if positives in (0, len(truth)):
        return float("nan"), float("nan")
    from scipy.stats import rankdata

    negatives = len(truth) - positives
    auc = (rankdata(score)[truth == 1].sum() - positives * (positives + 1) / 2) / (
        positives * negatives
    )
    order = np.argsort(score, kind="mergesort")[::-1]
    ranked = score[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tps = np.cumsum(truth[order])[ends]
    precision = tps / (ends + 1)
    recall = tps / tps[-1]
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return float(auc), ap


def _binary(y, p: scoring.Predictions, contract: Contract, draws) -> dict[str, np.ndarray]:
    pos = p.classes.index(contract.positive)
    truth = (np.asarray(y) == contract.positive).astype(int)[draws]
    score = p.proba[:, pos][draws]
    pred = (np.asarray(p.predicted) == contract.positive).astype(int)[draws]
    m = truth.shape[1]
    tp = (truth & pred).sum(axis=1)
    fp, fn = pred.sum(axis=1) - tp, truth.sum(axis=1) - tp
    ranking = np.array([_ranking(t, s) for t, s in zip(truth, score, strict=True)])
    clipped = np.where(truth == 1, np.clip(score, _EPS, 1 - _EPS),
                       np.clip(1 - score, _EPS, 1 - _EPS))  # fmt: skip
    return {
        "roc_auc": ranking[:, 0],
        "average_precision": ranking[:, 1],
        "f1": _div(2 * tp, 2 * tp + fp + fn),
        "precision": _div(tp, tp + fp),
        "recall": _div(tp, tp + fn),
        "accuracy": (m - fp - fn) / m,
        "log_loss": -np.log(clipped).mean(axis=1),
        "brier": ((score - truth) ** 2).mean(axis=1),
        "ece": _ece(score, truth),
    }


def _multiclass(y, p: scoring.Predictions, draws) -> dict[str, np.ndarray] | None:
    import pandas as pd

    k = len(p.classes)
    truth_code = pd.Categorical(np.asarray(y), categories=list(p.classes)).codes
    pred_code = pd.Categorical(np.asarray(p.predicted), categories=list(p.classes)).codes
    if (truth_code < 0).any() or (pred_code < 0).any():
        return None
    t, q = truth_code[draws], pred_code[draws]
    reps, m = t.shape
    cells = (np.arange(reps)[:, None] * k + t) * k + q
    cm = np.bincount(cells.ravel(), minlength=reps * k * k).reshape(reps, k, k)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    fp, fn = cm.sum(axis=1) - tp, cm.sum(axis=2) - tp
    proba = p.proba[draws]  # reps x m x k
    given = np.take_along_axis(proba, t[..., None], axis=2)[..., 0]
    onehot = t[..., None] == np.arange(k)
    recalls = _div(tp, tp + fn)
    return {
        "accuracy": tp.sum(axis=1) / m,
        "macro_f1": _div(2 * tp, 2 * tp + fp + fn).mean(axis=1),
        "log_loss": -np.log(np.clip(given, _EPS, 1 - _EPS)).mean(axis=1),
        "brier": ((onehot - proba) ** 2).reshape(reps, -1).mean(axis=1) * k,
        "ece": _ece(proba.max(axis=2), (q == t).astype(int)),
        **{f"recall_{c}": recalls[:, i] for i, c in enumerate(p.classes)},
    }


def _regression(y, p: scoring.Predictions, draws) -> dict[str, np.ndarray]:
    truth = np.asarray(y, dtype="float64")[draws]
    errors = truth - np.asarray(p.predicted, dtype="float64")[draws]
    sse = (errors**2).sum(axis=1)
    sst = ((truth - truth.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    # sklearn's r2 with a constant truth: 1.0 when every prediction is exact, else 0.0
    r2 = np.where(sst > 0, 1 - sse / np.where(sst > 0, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    return {
        "rmse": np.sqrt((errors**2).mean(axis=1)),
        "mae": np.abs(errors).mean(axis=1),
        "r2": r2 if truth.shape[1] > 1 else np.full(len(truth), np.nan),
    }


def scores(y, p: scoring.Predictions, contract: Contract, draws: np.ndarray) -> dict[str, list]:
    """metric -> its value on each resample (``draws``: replicates x rows of positions),
    rounded to 6 places like ``scoring.score``."""
    if contract.task == "binary":
        values = _binary(y, p, contract, draws)
    elif contract.task == "multiclass":
        values = _multiclass(y, p, draws)
    else:
        values = _regression(y, p, draws)
    if values is None:  # labels the model does not know: sklearn's definitions, one by one
        rows = [scoring.score(np.asarray(y)[i], scoring.subset(p, i), contract) for i in draws]
        return {metric: [r[metric] for r in rows] for metric in (rows[0] if rows else ())}
    return {metric: [round(float(v), 6) for v in column] for metric, column in values.items()}
