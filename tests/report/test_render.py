"""The pure parts of the report: params diff, cost, drift verdicts."""

from __future__ import annotations

from mlops.monitoring.evidently_drift import ColumnDrift
from mlops.report import budget, params_diff
from mlops.report.drift import DriftResult


def test_params_diff_lists_changed_added_and_removed_keys_only():
    base = {"train": {"lr": 0.08, "seed": 1, "old": 3}, "split": {"seed": 42}}
    new = {"train": {"lr": 0.1, "seed": 1.0, "new": 2}, "split": {"seed": 42}}
    changes = {c.key: c for c in params_diff.diff(base, new)}
    assert set(changes) == {"train.lr", "train.old", "train.new"}
    assert changes["train.old"].removed and changes["train.new"].added


def test_cost_per_1000_predictions_from_cpu_ms_and_rate():
    # 2 ms of CPU per prediction -> 2 s per 1,000 -> 2/3600 h at $0.36/h = $0.0002
    assert budget.cost_per_1000({"cpu_ms_per_row_1": 2.0}, 0.36) == 0.0002
    assert budget.cost_per_1000({}, 0.36) is None


def test_drift_p_values_and_distances_read_the_right_way():
    ks = ColumnDrift("a", "numeric", "K-S p_value", 0.01, 0.05, True)
    wasserstein = ColumnDrift("b", "numeric", "Wasserstein distance (normed)", 0.05, 0.1, False)
    result = DriftResult(0.5, [ks, wasserstein])
    assert ks.drifted and not wasserstein.drifted
    assert result.share == 0.5 and result.dataset_drift
    assert result.top(1) == [ks]
