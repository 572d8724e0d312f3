"""What a served version answers, per task: the response body, the prediction log's fields and
the warm-up check all come from here.

=========== ============================================== ==================================
task        ``predictions``                                ``probabilities``
=========== ============================================== ==================================
binary      the class: the positive one when its           the positive class's probability
            probability >= the version's threshold
multiclass  the most probable class                        per record, every class's
                                                           probability in ``classes`` order
regression  the predicted value                            (absent)
=========== ============================================== ==================================

The log keeps one number per row in ``probability``: the positive class's probability (binary),
the predicted class's (multiclass), null (regression); multiclass rows also keep every class's
probability in ``probabilities`` (``classes`` order), from which live log loss is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops.formats.contract import Contract


def outputs(estimator, frame, contract: Contract) -> np.ndarray:
    """The model's raw answer: the positive class's probability (binary, shape n), every class's
    probability (multiclass, n x classes) or the value (regression, n)."""
    if contract.task == "regression":
        return from_raw(estimator.predict(frame), contract)
    return from_raw(estimator.predict_proba(frame), contract)


def from_raw(raw, contract: Contract) -> np.ndarray:
    """``outputs`` from what the estimator's predict_proba (classification) or predict
    (regression) returned, whichever inference path computed it."""
    values = np.asarray(raw, dtype="float64")
    if contract.task == "binary":
        return values[:, contract.classes.index(contract.positive)]
    return values


@dataclass(frozen=True)
class Answer:
    predictions: list[Any]
    probabilities: list[Any] | None  # see the module's table
    classes: tuple = ()  # multiclass: the order of each row's probabilities

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"predictions": self.predictions}
        if self.classes:
            out["classes"] = list(self.classes)
        if self.probabilities is not None:
            out["probabilities"] = self.probabilities
        return out

    def logged_class_probabilities(self) -> list[list[float]] | None:
        """Multiclass: every class's probability per row (``classes`` order); else None."""
        return self.probabilities if self.classes else None

    def logged_probabilities(self) -> list[float | None]:
        """One number per row for the prediction log (see the module docstring)."""
        if self.probabilities is None:
            return [None] * len(self.predictions)
        if self.classes:
            return [max(row) for row in self.probabilities]
        return self.probabilities


def answer(contract: Contract, values: np.ndarray, threshold: float) -> Answer:
    """``outputs`` for one request -> the answer it gets."""
    if contract.task == "regression":
        return Answer(values.tolist(), None)
    if contract.task == "binary":
        negative = next(c for c in contract.classes if c != contract.positive)
        proba = values.tolist()
        return Answer([contract.positive if p >= threshold else negative for p in proba], proba)
    classes = contract.classes
    best = values.argmax(axis=1).tolist()
    return Answer([classes[i] for i in best], values.tolist(), classes)


def problem(contract: Contract, values: np.ndarray, rows: int) -> str:
    """What is wrong with a warm-up's ``outputs`` ("" when they are usable)."""
    width = len(contract.classes)
    shape = (rows, width) if contract.task == "multiclass" else (rows,)
    if values.shape != shape:
        return f"returned shape {values.shape}, expected {shape}"
    if not np.all(np.isfinite(values)):
        return "returned values that are not finite"
    if contract.classification and (values.min() < 0 or values.max() > 1):
        return "returned probabilities outside [0, 1]"
    return ""
