"""The canary's sequential test, checked by simulation: healthy canaries looked at after every
batch are rolled back at most alpha of the time, and a real degradation of the stated size is
rolled back within the number of requests the README states."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlops.monitoring import sequential
from mlops.monitoring.sequential import HARM, PROMOTE, ROLLBACK, SHIFT, WATCH, Moments

ALPHA = 0.05
# (stable error rate, min effect, canary share of traffic): the 5xx rate at production's
# defaults, a rarer one, and a live error (wrong answers per labelled request)
CASES = [(0.01, 0.01, 0.1), (0.001, 0.01, 0.5), (0.2, 0.05, 0.1), (0.2, 0.05, 0.5)]


def test_the_radius_is_where_the_evidence_reaches_one_over_alpha():
    var, tau = 2.5e-5, 0.01
    r = float(sequential.radius(var, tau, ALPHA))
    at_edge = float(sequential.log_evidence(0.3 + r, var, tau, theta0=0.3))
    assert at_edge == pytest.approx(math.log(1 / ALPHA))


@pytest.mark.parametrize(("rate", "effect", "traffic"), CASES)
def test_healthy_canaries_checked_after_every_batch_are_rarely_rolled_back(rate, effect, traffic):
    aa = sequential.simulate(
        canaries=1000, batches=300, batch=100, traffic=traffic, stable_rate=rate,
        canary_rate=rate, min_effect=effect, alpha=ALPHA, seed=11,
    )  # fmt: skip
    assert aa["looks"] == 300
    assert aa["rate"] <= ALPHA, aa["rate"]


@pytest.mark.parametrize(("rate", "effect", "traffic"), CASES)
def test_a_degradation_of_the_stated_size_is_rolled_back(rate, effect, traffic):
    bad = sequential.simulate(
        canaries=1000, batches=600, batch=100, traffic=traffic, stable_rate=rate,
        canary_rate=rate + effect, min_effect=effect, alpha=ALPHA, seed=12,
    )  # fmt: skip
    assert bad["rate"] >= 0.95, bad["rate"]
    # the README's figures: 95 % of degraded canaries rolled back within these many requests
    within = {(0.01, 0.01, 0.1): 40_000, (0.001, 0.01, 0.5): 5_000,
              (0.2, 0.05, 0.1): 20_000, (0.2, 0.05, 0.5): 7_000}  # fmt: skip
    assert np.percentile(bad["requests_to_rollback"], 95) <= within[(rate, effect, traffic)]


def _normal_looks(canaries, requests, batch, traffic, shift, rng):
    """Cumulative (n, mean, var) per route at every batch end: one value per request."""
    on_canary = rng.random((canaries, requests)) < traffic
    values = rng.normal(0.0, 1.0, (canaries, requests)) + shift * on_canary
    ends = np.arange(batch, requests + 1, batch) - 1
    out = []
    for mask in (on_canary, ~on_canary):
        n = np.cumsum(mask, axis=1)[:, ends].astype("float64")
        total = np.cumsum(values * mask, axis=1)[:, ends]
        squares = np.cumsum(values * values * mask, axis=1)[:, ends]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = total / n
            var = (squares - n * mean * mean) / (n - 1)
        out.append((n, mean, var))
    return out


@pytest.mark.parametrize(("shift", "most"), [(0.0, ALPHA), (0.6, 1.0)])
def test_the_prediction_shift_test_rolls_back_beyond_the_tolerance_only(shift, most):
    rng = np.random.default_rng(5)
    (n_c, m_c, v_c), (n_s, m_s, v_s) = _normal_looks(1000, 4000, 50, 0.5, shift, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = sequential.variance(v_c, n_c, v_s, n_s)
        verdicts = sequential.decide(m_c - m_s, sequential.radius(var, 0.25, ALPHA), SHIFT, 0.25)
    ready = (n_c >= 100) & (n_s >= 100)
    rolled = ((verdicts == ROLLBACK) & ready).any(axis=1).mean()
    if shift == 0.0:
        assert rolled <= most
    else:
        assert rolled >= 0.95


def test_verdicts_and_what_would_change_them():
    common = dict(kind=HARM, min_effect=0.01, alpha=ALPHA, min_requests=100)
    worse = sequential.compare("error_rate", Moments.bernoulli(30, 300),
                               Moments.bernoulli(2, 2000), **common)  # fmt: skip
    assert worse.verdict == ROLLBACK and worse.lower > 0
    assert worse.evidence >= 1 / ALPHA and "cannot reverse" in worse.change
    fine = sequential.compare("error_rate", Moments.bernoulli(0, 3000),
                              Moments.bernoulli(1, 20000), **common)  # fmt: skip
    assert fine.verdict == PROMOTE and fine.upper < 0.01
    unsure = sequential.compare("error_rate", Moments.bernoulli(3, 300),
                                Moments.bernoulli(10, 2000), **common)  # fmt: skip
    assert unsure.verdict == WATCH and unsure.lower < 0 < unsure.upper
    assert "more requests" in unsure.change
    early = sequential.compare("error_rate", Moments.bernoulli(0, 20),
                               Moments.bernoulli(0, 2000), **common)  # fmt: skip
    assert early.verdict == WATCH and early.difference is None
    assert "waiting for 100" in early.change
