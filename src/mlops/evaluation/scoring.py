"""Holdout metrics per task: one definition used by evaluate (overall and per slice).

binary      roc_auc, average_precision, f1, precision, recall, accuracy, log_loss, brier, ece
multiclass  accuracy, macro_f1, log_loss, brier, ece, recall_<class> for every class
regression  rmse, mae, r2

``brier`` is the Brier score (mean squared error of the probabilities; multiclass: summed over
classes) and ``ece`` the expected calibration error: over ten equal-width bins of the score
(binary: the positive class's probability; multiclass: the predicted class's), the row-weighted
mean gap between the mean score and the observed rate. ``reliability`` gives the bins themselves.

``LOWER_IS_BETTER`` names the metrics where smaller is better (gates and reports read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

# defined apart so gates and reports compare recorded figures without numpy; read here too
from mlops.evaluation.metric_names import LOWER_IS_BETTER  # noqa: F401

if TYPE_CHECKING:
    from mlops.formats.contract import Contract

CALIBRATION_BINS = 10
HEADLINE = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "rmse"}


@dataclass(frozen=True)
class Predictions:
    """What a model said about a holdout: labels (or values) and, for classification, the
    probability of every class in ``classes`` order."""

    predicted: np.ndarray
    proba: np.ndarray | None
    classes: tuple


def predict(model, features, contract: Contract, threshold: float = 0.5) -> Predictions:
    """Predictions as every stage reads them; a binary label is ``proba >= threshold``."""
    if not contract.classification:
        return Predictions(np.asarray(model.predict(features), dtype="float64"), None, ())
    proba = model.predict_proba(features)
    classes = tuple(model.classes_.tolist())
    if contract.task == "binary":
        pos = classes.index(contract.positive)
        negative = classes[1 - pos]
        predicted = np.where(proba[:, pos] >= threshold, contract.positive, negative)
    else:
        predicted = np.asarray(classes)[proba.argmax(axis=1)]
    return Predictions(np.asarray(predicted), proba, classes)


def _bins(score: np.ndarray) -> np.ndarray:
    return np.minimum((np.asarray(score) * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)


def _ece(score: np.ndarray, hit: np.ndarray) -> float:
    """Expected calibration error: sum over bins of (rows share) * |mean score - hit rate|."""
    if len(score) == 0:
        return float("nan")
    b = _bins(score)
    gap = np.bincount(b, weights=np.asarray(score) - hit, minlength=CALIBRATION_BINS)
    return float(np.abs(gap).sum() / len(score))


def calibration_score(y, p: Predictions, contract: Contract) -> tuple[np.ndarray, np.ndarray]:
    """What calibration is measured on: the score and whether it came true, per row."""
    y = np.asarray(y)
    if contract.task == "binary":
        return p.proba[:, p.classes.index(contract.positive)], (y == contract.positive).astype(int)
    predicted = np.asarray(p.classes)[p.proba.argmax(axis=1)]
    return p.proba.max(axis=1), (predicted == y).astype(int)


def reliability(y, p: Predictions, contract: Contract) -> list[dict[str, float]]:
    """The reliability diagram's bins (classification): mean score, observed rate, rows."""
    score, hit = calibration_score(y, p, contract)
    b = _bins(score)
    out = []
    for i in range(CALIBRATION_BINS):
        mask = b == i
        if mask.any():
            out.append(
                {
                    "predicted": round(float(score[mask].mean()), 6),
                    "observed": round(float(hit[mask].mean()), 6),
                    "rows": int(mask.sum()),
                }
            )
    return out


def _round(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in values.items()}


def _binary(y, p: Predictions, contract: Contract) -> dict[str, float]:
    from sklearn import metrics as skm

    pos = p.classes.index(contract.positive)
    truth = (np.asarray(y) == contract.positive).astype(int)
    score = p.proba[:, pos]
    pred = (np.asarray(p.predicted) == contract.positive).astype(int)
    both = len(np.unique(truth)) == 2
    return {
        "roc_auc": skm.roc_auc_score(truth, score) if both else float("nan"),
        "average_precision": skm.average_precision_score(truth, score) if both else float("nan"),
        "f1": skm.f1_score(truth, pred, zero_division=0),
        "precision": skm.precision_score(truth, pred, zero_division=0),
        "recall": skm.recall_score(truth, pred, zero_division=0),
        "accuracy": skm.accuracy_score(truth, pred),
        "log_loss": skm.log_loss(truth, score, labels=[0, 1]),
        "brier": float(np.mean((score - truth) ** 2)),
        "ece": _ece(score, truth),
    }


def _multiclass(y, p: Predictions) -> dict[str, float]:
    import pandas as pd
    from sklearn import metrics as skm

    labels = list(p.classes)
    y, pred = np.asarray(y), np.asarray(p.predicted)
    # sklearn's metrics on class codes (-1: a label the model does not know), not on the labels:
    # the same figures, without sorting every string label on every call
    yc = pd.Categorical(y, categories=labels).codes.astype("int64")
    pc = pd.Categorical(pred, categories=labels).codes.astype("int64")
    codes = list(range(len(labels)))
    recalls = skm.recall_score(yc, pc, labels=codes, average=None, zero_division=0)
    return {
        "accuracy": skm.accuracy_score(yc, pc),
        "macro_f1": skm.f1_score(yc, pc, labels=codes, average="macro", zero_division=0),
        "log_loss": skm.log_loss(y, p.proba, labels=labels),
        "brier": float(np.mean(((y[:, None] == np.asarray(labels)) - p.proba) ** 2) * len(labels)),
        "ece": _ece(p.proba.max(axis=1), (pred == y).astype(int)),
        **{f"recall_{c}": r for c, r in zip(labels, recalls, strict=True)},
    }


def _regression(y, p: Predictions) -> dict[str, float]:
    from sklearn import metrics as skm

    y = np.asarray(y, dtype="float64")
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y, p.predicted))),
        "mae": skm.mean_absolute_error(y, p.predicted),
        "r2": skm.r2_score(y, p.predicted) if len(y) > 1 else float("nan"),
    }


def score(y, p: Predictions, contract: Contract) -> dict[str, float]:
    """The task's metrics, rounded to 6 places so reports diff cleanly."""
    if contract.task == "binary":
        return _round(_binary(y, p, contract))
    if contract.task == "multiclass":
        return _round(_multiclass(y, p))
    return _round(_regression(y, p))


def subset(p: Predictions, idx) -> Predictions:
    return Predictions(p.predicted[idx], None if p.proba is None else p.proba[idx], p.classes)
