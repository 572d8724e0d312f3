"""The bootstrap's numpy metrics agree with the scikit-learn ones every report shows."""

import math

import numpy as np
import pytest

from mlops.evaluation import binary_counts, scoring, uncertainty
from mlops.formats.contract import Contract


def _contract() -> Contract:
    return Contract.from_dict(
        {
            "model": "m",
            "task": "binary",
            "data": "data/t.csv",
            "target": {"name": "y", "classes": ["no", "yes"], "positive": "yes"},
            "segment": None,
            "columns": {"x": {"kind": "float"}},
        },
        source="test",
    )


def _predictions(rng, n: int, rate: float, ties: bool, threshold: float = 0.5):
    y = np.where(rng.random(n) < rate, "yes", "no")
    score = np.clip((y == "yes") * 0.3 + rng.random(n) * 0.7, 0, 1)
    if ties:
        score = np.round(score, 1)  # many rows share a score: ROC and PR steps with ties
    proba = np.c_[1 - score, score]
    predicted = np.where(score >= threshold, "yes", "no")
    return y, scoring.Predictions(predicted, proba, ("no", "yes"))


CASES = [
    (500, 0.3, False, 0.5),
    (500, 0.3, True, 0.5),
    (2000, 0.03, False, 0.5),  # imbalanced
    (200, 0.5, True, 0.99),  # nothing predicted positive: precision and f1 are 0
    (100, 0.0, False, 0.5),  # one class only: no ROC AUC, no average precision
    (100, 1.0, True, 0.0),  # every row positive and predicted positive
]


@pytest.mark.parametrize(("n", "rate", "ties", "threshold"), CASES)
def test_numpy_metrics_equal_scikit_learns(n, rate, ties, threshold):
    c = _contract()
    y, p = _predictions(np.random.default_rng(n), n, rate, ties, threshold)
    expected = scoring._binary(y, p, c)
    got = binary_counts.scores(
        (y == "yes").astype(int), p.proba[:, 1], (p.predicted == "yes").astype(int)
    )
    assert set(got) == set(expected)
    for metric, value in expected.items():
        if math.isnan(value):
            assert math.isnan(got[metric]), metric
        else:
            assert got[metric] == pytest.approx(value, abs=1e-12), metric


def test_standard_errors_are_those_of_scikit_learns_metrics():
    """The bootstrap gives the same (rounded) standard errors as scoring every resample with
    scikit-learn: only the cost changed."""
    c = _contract()
    y, p = _predictions(np.random.default_rng(7), 3000, 0.25, True)
    draws, scale = uncertainty._draws(len(y))
    slow = [scoring.score(y[i], scoring.subset(p, i), c) for i in draws]
    assert uncertainty.standard_errors(y, p, c) == uncertainty._spread(slow, scale)
