"""Canary analysis per task, on the metrics the server's own code records (``serve.metrics``):
the shares of predicted classes (multiclass) and the mean predicted value (regression)."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.formats import environments, models_file
from mlops.monitoring import canary
from mlops.serve import metrics
from mlops.serve.answers import Answer
from tests.conftest import ROOT

DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def _deployment(stable: str, canary_: str) -> models_file.Deployment:
    return models_file.Deployment(
        models_file.Pin(stable, DIGEST_A), models_file.Canary(canary_, DIGEST_B, 10)
    )


def _serve(version: str, route: str, answers: list[Answer]) -> None:
    """What the server records per answered request."""
    for answer in answers:
        metrics.observe(version, route, 200, 0.004)
        metrics.observe_predictions(version, route, answer, 0.001)


def _classes(shares: dict[str, float], n: int, seed: int) -> list[Answer]:
    rng = np.random.default_rng(seed)
    picked = rng.choice(list(shares), size=n, p=list(shares.values()))
    classes = tuple(shares)
    return [Answer([str(c)], [[1 / len(classes)] * len(classes)], classes) for c in picked]


def _values(mean: float, n: int, seed: int) -> list[Answer]:
    rng = np.random.default_rng(seed)
    return [Answer([float(v)], None) for v in rng.normal(mean, 10.0, n)]


@pytest.fixture(scope="module")
def production():
    return environments.load("production", ROOT)


@pytest.mark.parametrize(
    ("canary_shares", "verdict"),
    [({"a": 0.5, "b": 0.3, "c": 0.2}, "promote"), ({"a": 0.05, "b": 0.15, "c": 0.8}, "rollback")],
)
def test_multiclass_canary_is_judged_by_its_class_shares(production, canary_shares, verdict):
    stable, new = f"v5.{verdict}.0", f"v5.{verdict}.1"
    _serve(stable, "stable", _classes({"a": 0.5, "b": 0.3, "c": 0.2}, 4000, 1))
    _serve(new, "canary", _classes(canary_shares, 2000, 2))
    result = canary.analyze(production, _deployment(stable, new), metrics.exposition().decode())
    shifts = [t for t in result.tests if t.name.startswith("prediction_shift")]
    assert [t.name for t in shifts] == [f"prediction_shift[{c}]" for c in "abc"]
    assert all(t.alpha == pytest.approx(production.canary.alpha / 3) for t in shifts)
    assert result.verdict == verdict, result.reasons
    assert (shifts[2].verdict == "rollback") == (verdict == "rollback")


@pytest.mark.parametrize(("canary_mean", "verdict"), [(100.5, "promote"), (112.0, "rollback")])
def test_regression_canary_is_judged_by_its_mean_prediction(production, canary_mean, verdict):
    stable, new = f"v6.{verdict}.0", f"v6.{verdict}.1"
    _serve(stable, "stable", _values(100.0, 3000, 1))
    _serve(new, "canary", _values(canary_mean, 1500, 2))
    result = canary.analyze(production, _deployment(stable, new), metrics.exposition().decode())
    [shift] = [t for t in result.tests if t.name == "prediction_shift"]
    assert shift.difference == pytest.approx((canary_mean - 100.0) / 10.0, abs=0.1)
    assert result.verdict == verdict, result.reasons
    assert "prediction_shift" in canary.markdown(result)
