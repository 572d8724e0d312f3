"""The binary task's metrics in plain numpy, for the bootstrap's many resamples.

``mlops.evaluation.uncertainty`` scores every slice (and every paired comparison) on 50 resamples
of up to 2,000 rows. scikit-learn's metric functions check their inputs on every call, which
there costs about a millisecond per metric and resample, and far more than the arithmetic: at a
million rows the slices' bootstrap took most of the evaluate stage. These are the same
definitions as ``mlops.evaluation.scoring`` (scikit-learn's, with ``zero_division=0``; ROC AUC
with ties counted half; average precision as the step sum over distinct scores; log loss with
probabilities clipped to [eps, 1 - eps]), equal to those to floating-point rounding (a test
holds them together). Headline and slice metrics themselves stay on scikit-learn.
"""

from __future__ import annotations

import numpy as np

from mlops.evaluation import scoring


def _divide(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def _ranked(truth: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """ROC AUC and average precision, from one sort of the scores (highest first)."""
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], truth[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # each distinct score's last row
    tps = np.cumsum(t)[last].astype("float64")
    fps = (last + 1) - tps
    positives, negatives = tps[-1], fps[-1]
    tpr, fpr = tps / positives, fps / negatives
    auc = float(np.trapezoid(np.r_[0.0, tpr], np.r_[0.0, fpr]))
    precision = tps / (tps + fps)
    ap = float(np.sum(np.diff(np.r_[0.0, tpr]) * precision))
    return auc, ap


def scores(truth: np.ndarray, score: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The binary metrics of ``scoring`` (unrounded) from 0/1 truth, the positive class's
    probability and 0/1 predictions."""
    truth = np.asarray(truth, dtype="int64")
    pred = np.asarray(pred, dtype="int64")
    score = np.asarray(score, dtype="float64")
    tp = float(np.sum(truth & pred))
    predicted, actual = float(pred.sum()), float(truth.sum())
    both = 0 < actual < len(truth)
    auc, ap = _ranked(truth, score) if both else (float("nan"), float("nan"))
    eps = np.finfo("float64").eps
    clipped = np.clip(score, eps, 1 - eps)
    loss = -np.where(truth == 1, np.log(clipped), np.log(1 - clipped))
    return {
        "roc_auc": auc,
        "average_precision": ap,
        "f1": _divide(2 * tp, actual + predicted),
        "precision": _divide(tp, predicted),
        "recall": _divide(tp, actual),
        "accuracy": float(np.mean(truth == pred)),
        "log_loss": float(np.mean(loss)),
        "brier": float(np.mean((score - truth) ** 2)),
        "ece": scoring._ece(score, truth),
    }


def resampled(y, p: scoring.Predictions, contract, draws: np.ndarray) -> list[dict[str, float]]:
    """The binary metrics (rounded as ``scoring.score`` rounds) on each row of ``draws``."""
    truth = (np.asarray(y) == contract.positive).astype("int64")
    score = p.proba[:, p.classes.index(contract.positive)]
    pred = (np.asarray(p.predicted) == contract.positive).astype("int64")
    return [scoring._round(scores(truth[i], score[i], pred[i])) for i in draws]
