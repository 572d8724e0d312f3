"""The gates and the live bar `mlops data adopt` writes into environments/*.yaml, per task."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from mlops.data import gate_defaults
from mlops.formats import environments
from mlops.quality import gates
from tests.decisions.test_gates_noise import _slices
from tests.feedback.contracts import contract

ENV_FILE = """serving:
  target: local
  url: http://127.0.0.1:8100
gates:
  min: {roc_auc: 0.8}
  max_latency_ms_p95: 50
monitoring:
  drift_share: 0.3
  # min_live: {roc_auc: 0.75}   # at least; default gates.min
  min_outcomes: 200
cost:
  usd_per_cpu_hour: 0.05
"""
STATS = {"binary": {"majority_share": 0.7}, "multiclass": {"majority_share": 0.4},
         "regression": {"target_std": 12.0}}  # fmt: skip


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("env", ["production", "staging"])
def test_adopt_writes_an_auto_live_bar_on_the_headline_metric_and_keeps_the_rest(task, env):
    """No number typed before any model was trained: the bar follows each served version's
    holdout figure and trivial baseline (``mlops.feedback.bars``)."""
    c = contract(task)
    text = gate_defaults.apply(ENV_FILE, c, env, STATS[task], {"max_latency_ms_p95": 50})
    parsed = environments.parse(yaml.safe_load(text), env, f"{env}.yaml")
    metric = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}[task]
    assert parsed.monitoring.min_live == {metric: "auto"} and metric in parsed.gates.min
    assert parsed.monitoring.live_tolerance == 0.25
    assert parsed.monitoring.min_outcomes == 200 and parsed.gates.max_latency_ms_p95 == 50
    assert "# min_live" not in text and text.count("min_live:") == 1
    assert "usd_per_cpu_hour: 0.05" in text
    again = gate_defaults.apply(text, c, env, STATS[task], {"max_latency_ms_p95": 50})
    assert again == text  # adopting the same table twice changes nothing


def test_a_file_without_monitoring_gets_one():
    text = "serving:\n  target: local\n  url: http://127.0.0.1:8100\n"
    given = {"min": {"roc_auc": 0.8, "f1": 0.55}}
    out = gate_defaults.apply(text, contract("binary"), "production", STATS["binary"], {}, given)
    assert yaml.safe_load(out)["monitoring"]["min_live"] == {"roc_auc": "auto"}
    assert yaml.safe_load(out)["gates"]["min"] == given["min"]


@pytest.mark.parametrize(("task", "metric", "base"), [("binary", "roc_auc", 0.10),
                         ("multiclass", "accuracy", 0.10), ("regression", "r2", 0.20)])  # fmt: skip
def test_slice_gap_default_is_the_base_and_the_gate_judges_the_noise(task, metric, base):
    """The default gap is not widened for small segments (that would count the noise twice):
    the gate judges the gap with its interval, so a gap of 0.20 between segments of 40 holdout
    rows passes while the same gap between segments of 4,000 rows fails."""
    c = dataclasses.replace(contract(task), segment="colour")
    text = gate_defaults.apply(ENV_FILE, c, "production", STATS[task], {})
    env = environments.parse(yaml.safe_load(text), "production", "production.yaml")
    assert env.gates.max_slice_gap == {metric: base}
    if task != "multiclass":
        return
    small = _slices({"north": 40, "south": 40}, {"north": 0.55, "south": 0.75})
    large = _slices({"north": 4000, "south": 4000}, {"north": 0.55, "south": 0.75})
    verdicts = [_slice_gate(env, s) for s in (small, large)]
    assert [g.value > base for g in verdicts] == [True, True]
    assert [g.passed for g in verdicts] == [True, False]


def _slice_gate(env, slices):
    return next(g for g in gates.check(env, gates.Results({}, slices, {})) if "slice" in g.gate)
