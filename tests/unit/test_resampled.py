"""The bootstrap's batch scoring gives, on every resample, exactly what ``scoring.score`` gives:
the standard errors the gates judge by do not depend on which of the two computed them."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mlops.evaluation import resampled, scoring, uncertainty


def _one_by_one(y, p, contract, draws) -> dict[str, list]:
    rows = [scoring.score(y[i], scoring.subset(p, i), contract) for i in draws]
    return {metric: [r[metric] for r in rows] for metric in rows[0]}


def _same(batch: dict[str, list], loop: dict[str, list]) -> None:
    assert list(batch) == list(loop)
    for metric in loop:
        np.testing.assert_array_equal(np.array(batch[metric]), np.array(loop[metric]), metric)


def _binary(n: int, rng, positive_share: float = 0.3):
    y = np.where(rng.random(n) < positive_share, "yes", "no")
    score = np.round(rng.random(n), 2)  # rounded: many tied scores, as trees give
    score[:5] = [0.0, 1.0, 0.0, 1.0, 0.5]  # the clipped ends of the log loss
    predicted = np.where(score >= 0.4, "yes", "no")
    proba = np.c_[1 - score, score]
    return (
        y,
        scoring.Predictions(predicted, proba, ("no", "yes")),
        SimpleNamespace(task="binary", positive="yes"),
    )


@pytest.mark.parametrize("n", [3000, 40, 7])
def test_binary_resamples_score_as_sklearn_does(n):
    rng = np.random.default_rng(n)
    y, p, contract = _binary(n, rng)
    draws = rng.integers(0, n, size=(50, min(n, 2000)))
    _same(resampled.scores(y, p, contract, draws), _one_by_one(y, p, contract, draws))


def test_a_resample_with_one_class_has_no_ranking_metrics():
    rng = np.random.default_rng(1)
    y, p, contract = _binary(30, rng, positive_share=0.05)
    draws = np.vstack([np.flatnonzero(y == "no")[:10]] * 3)  # negatives only
    batch = resampled.scores(y, p, contract, draws)
    assert np.isnan(batch["roc_auc"]).all() and np.isnan(batch["average_precision"]).all()
    _same(batch, _one_by_one(y, p, contract, draws))


def test_multiclass_resamples_score_as_sklearn_does():
    rng = np.random.default_rng(3)
    n, classes = 500, ("a", "b", "c", "d")
    raw = rng.random((n, 4)) ** 3
    proba = raw / raw.sum(axis=1, keepdims=True)
    y = np.asarray(classes)[rng.integers(0, 4, n)]
    p = scoring.Predictions(np.asarray(classes)[proba.argmax(axis=1)], proba, classes)
    contract = SimpleNamespace(task="multiclass")
    draws = rng.integers(0, n, size=(50, n))
    _same(resampled.scores(y, p, contract, draws), _one_by_one(y, p, contract, draws))


def test_regression_resamples_score_as_sklearn_does_even_on_constant_truth():
    rng = np.random.default_rng(4)
    y = rng.normal(10, 3, 300)
    p = scoring.Predictions(y + rng.normal(0, 1, 300), None, ())
    contract = SimpleNamespace(task="regression")
    draws = rng.integers(0, 300, size=(50, 300))
    _same(resampled.scores(y, p, contract, draws), _one_by_one(y, p, contract, draws))
    constant = np.full(300, 2.0)
    exact = scoring.Predictions(constant.copy(), None, ())
    draws = draws[:, :20]
    for pred in (exact, p):
        _same(
            resampled.scores(constant, pred, contract, draws),
            _one_by_one(constant, pred, contract, draws),
        )


def test_standard_errors_come_from_the_batch_and_shrink_with_more_rows():
    rng = np.random.default_rng(5)
    small, large = (_binary(n, rng) for n in (200, 2000))
    se_small = uncertainty.standard_errors(*small)
    se_large = uncertainty.standard_errors(*large)
    assert set(se_small) == set(scoring.score(small[0], small[1], small[2]))
    assert se_large["roc_auc"] < se_small["roc_auc"]
    y, p, contract = large
    assert uncertainty.paired_standard_errors(y, p, p, contract)["roc_auc"] == 0.0


def test_multiclass_scores_on_class_codes_equal_sklearn_on_the_labels():
    from sklearn import metrics as skm

    rng = np.random.default_rng(6)
    classes = ("bronze", "gold", "platinum", "silver")
    raw = rng.random((400, 4)) ** 2
    proba = raw / raw.sum(axis=1, keepdims=True)
    y = np.asarray(classes)[rng.integers(0, 4, 400)]
    predicted = np.asarray(classes)[proba.argmax(axis=1)]
    got = scoring.score(y, scoring.Predictions(predicted, proba, classes),
                        SimpleNamespace(task="multiclass"))  # fmt: skip
    labels = list(classes)
    assert got["accuracy"] == round(skm.accuracy_score(y, predicted), 6)
    assert got["macro_f1"] == round(
        skm.f1_score(y, predicted, labels=labels, average="macro", zero_division=0), 6
    )
    recalls = skm.recall_score(y, predicted, labels=labels, average=None, zero_division=0)
    assert [got[f"recall_{c}"] for c in classes] == [round(r, 6) for r in recalls]
