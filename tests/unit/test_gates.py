"""Quality gates: minimums, regression against live, slice gap, latency and size."""

from mlops import gates
from mlops.environments import parse

ENV = parse(
    {
        "gates": {
            "min": {"roc_auc": 0.80, "log_loss": 0.5},
            "max_regression": {"roc_auc": 0.02},
            "max_slice_gap": {"roc_auc": 0.10},
            "max_latency_ms_p95": 20,
            "max_model_mb": 50,
        }
    },
    "production",
    "environments/production.yaml",
)


def results(roc=0.85, loss=0.4, slices=(0.84, 0.86), p95=5.0, mb=1.0):
    return gates.Results(
        {"roc_auc": roc, "log_loss": loss},
        {"slices": {f"r{i}": {"roc_auc": v} for i, v in enumerate(slices)}},
        {"latency_ms_1_row": {"p95": p95}, "model_mb": mb},
    )


def failing(res, live=None):
    return {(g.gate, g.metric) for g in gates.check(ENV, res, live) if not g.passed}


def test_a_good_candidate_passes_everything():
    assert failing(results()) == set()
    assert gates.passed(gates.check(ENV, results(), results(roc=0.86)))


def test_below_minimum_fails_and_lower_is_better_is_respected():
    assert failing(results(roc=0.79, loss=0.6)) == {("min", "roc_auc"), ("min", "log_loss")}


def test_regression_against_live_beyond_tolerance_fails():
    assert failing(results(roc=0.82), live=results(roc=0.85)) == {("max_regression", "roc_auc")}
    assert failing(results(roc=0.84), live=results(roc=0.85)) == set()


def test_nothing_live_passes_regression_with_a_reason():
    reg = next(g for g in gates.check(ENV, results()) if g.gate == "max_regression")
    assert reg.passed and "nothing live" in reg.detail


def test_slice_gap_names_the_worst_slice():
    (gap,) = [
        g for g in gates.check(ENV, results(slices=(0.70, 0.90))) if g.gate == "max_slice_gap"
    ]
    assert not gap.passed and gap.value == 0.2 and "worst slice r0" in gap.detail


def test_latency_and_size_budgets():
    assert failing(results(p95=25, mb=80)) == {
        ("max_latency_ms_p95", "latency_ms_1_row.p95"),
        ("max_model_mb", "model_mb"),
    }
