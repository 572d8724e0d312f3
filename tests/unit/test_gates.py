"""Quality gates: minimums, regression against live, slice gap, latency and size."""

from mlops.formats.environments import parse
from mlops.quality import gates

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


def test_a_dry_run_gate_is_computed_shown_and_never_blocks():
    from mlops.report.cells import WOULD_BLOCK, gate_mark
    from mlops.report.gate import render_failures
    from mlops.report.render import verdict_line

    raw = {"gates": {"min": {"roc_auc": 0.8}, "max_slice_gap": {"roc_auc": 0.1},
                     "mode": {"max_slice_gap": "dry_run"}}}  # fmt: skip
    env = parse(raw, "production", "environments/production.yaml")
    found = gates.check(env, results(slices=(0.7, 0.9)))
    gap = next(g for g in found if g.gate == "max_slice_gap")
    assert not gap.passed and gap.dry_run and not gap.blocks
    assert gates.passed(found) and gap.to_dict()["blocks"] is False
    verdict = gates.Verdict("production", gates.Live("production"), found)
    assert verdict.passed and verdict.failures() == [] and verdict.would_block() == [gap]
    assert gate_mark(gap) == WOULD_BLOCK and "would block" in verdict_line([verdict])
    assert "would block in dry run: max_slice_gap roc_auc 0.2" in render_failures([verdict])
    # the same gate enforced blocks; a dry-run environment blocks nothing
    assert not gates.passed(gates.check(ENV, results(slices=(0.7, 0.9))))
    everything = parse({**raw, "gates": {**raw["gates"], "mode": "dry_run"}}, "p", "p.yaml")
    assert gates.passed(gates.check(everything, results(roc=0.5, slices=(0.7, 0.9))))


def test_gate_modes_are_validated():
    import pytest

    from mlops.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"gates\.mode = 'off': must be enforce or dry_run"):
        parse({"gates": {"mode": "off"}}, "x", "x.yaml")
    with pytest.raises(ConfigError, match=r"gates\.mode\.max_gap: unknown gate.*max_slice_gap"):
        parse({"gates": {"mode": {"max_gap": "dry_run"}}}, "x", "x.yaml")
