"""A live bar is judged like the gates, with its uncertainty: a point estimate worse than the bar
whose 95 % interval still reaches it is "within noise" (shown with a warning, exit 0, no
retrain); only an interval wholly worse than the bar fails (exit 1)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlops.demos.feedback import figure
from mlops.feedback import performance, render
from tests.conftest import mlops
from tests.feedback.conftest import binary_traffic, write_log
from tests.feedback.contracts import contract


def _group(frame: pd.DataFrame, task: str, bars: dict[str, float]) -> performance.Group:
    status, table = performance.judge(frame, contract(task), bars, 100, {})
    return performance.Group("v1", "stable", len(frame), len(frame), status, table)


def _result(group: performance.Group, task: str) -> performance.Result:
    return performance.Result("production", "m", task, "", {}, "x", 100, [group], 0, 0)


def test_an_auc_below_its_bar_within_noise_passes_with_a_warning_and_beyond_noise_fails():
    # 880 labelled rows, as on a telco churn table after a retrain
    truth, score, predicted = binary_traffic(880, 0.6, seed=3)
    frame = pd.DataFrame({"prediction": predicted, "probability": score, "y": truth})
    auc = performance.live_metrics(frame, contract("binary"))["roc_auc"]
    assert auc.high - auc.low > 0.05  # a few hundred rows: a wide interval

    # the point is below the bar, the interval reaches it: within noise, not failed
    bar = round(auc.value + (auc.high - auc.value) / 2, 4)
    noisy = _group(frame, "binary", {"roc_auc": bar})
    row = noisy.metrics["roc_auc"]
    assert row["value"] < row["threshold"] <= row["high"]
    assert (row["verdict"], row["passed"], noisy.status) == (
        "within_noise", True, performance.WITHIN_NOISE)  # fmt: skip
    result = _result(noisy, "binary")
    assert (result.status, result.exit_code) == ("within noise of its bar", 0)
    md = render.markdown(result)
    assert "## Live performance in production: ⚠️ within noise of its bar at 95 %" in md
    assert f"| ≥ {bar:g} ⚠️ below, within noise at 95 % |" in md
    assert json.loads(json.dumps(result.to_dict()))["groups"][0]["metrics"]["roc_auc"][
        "verdict"] == "within_noise"  # fmt: skip

    # the whole interval below the bar: beyond noise, the group fails
    beyond = _group(frame, "binary", {"roc_auc": round(auc.high + 0.01, 4)})
    assert (beyond.metrics["roc_auc"]["verdict"], beyond.metrics["roc_auc"]["passed"]) == (
        "below", False)  # fmt: skip
    result = _result(beyond, "binary")
    assert (result.status, result.exit_code) == (performance.BELOW, 1)
    assert "❌ below, beyond noise at 95 %" in render.markdown(result)

    # at or above the bar: ok
    met = _group(frame, "binary", {"roc_auc": round(auc.value - 0.01, 4)})
    assert (met.metrics["roc_auc"]["verdict"], met.status) == ("ok", performance.OK)


def test_one_failed_metric_fails_the_group_whatever_the_others_say():
    truth, score, predicted = binary_traffic(880, 0.6, seed=3)
    frame = pd.DataFrame({"prediction": predicted, "probability": score, "y": truth})
    est = performance.live_metrics(frame, contract("binary"))
    bars = {"roc_auc": round(est["roc_auc"].value + 0.005, 4),  # within noise
            "accuracy": round(est["accuracy"].high + 0.02, 4)}  # fmt: skip
    group = _group(frame, "binary", bars)
    verdicts = {m: r["verdict"] for m, r in group.metrics.items() if "verdict" in r}
    assert verdicts == {"roc_auc": "within_noise", "accuracy": "below"}
    assert group.status == performance.BELOW


def test_rmse_is_judged_lower_is_better_with_the_interval_swapped():
    rng = np.random.default_rng(5)
    y = rng.normal(50, 10, 400)
    frame = pd.DataFrame({"prediction": y + rng.normal(0, 4, 400), "probability": np.nan, "y": y})
    rmse = performance.live_metrics(frame, contract("regression"))["rmse"]
    assert rmse.low < rmse.value < rmse.high

    # worse (above the bar) but the interval's low end reaches it: within noise
    noisy = _group(
        frame, "regression", {"rmse": round(rmse.value - (rmse.value - rmse.low) / 2, 4)}
    )
    assert noisy.metrics["rmse"]["verdict"] == "within_noise"
    assert noisy.status == performance.WITHIN_NOISE
    assert "≤ " in render.markdown(_result(noisy, "regression"))
    # the whole interval above the bar: beyond noise
    beyond = _group(frame, "regression", {"rmse": round(rmse.low - 0.05, 4)})
    assert (beyond.metrics["rmse"]["verdict"], beyond.status) == ("below", performance.BELOW)
    # a bar above the point (worse than it) is met, though the interval's high end passes it
    met = _group(frame, "regression", {"rmse": round(rmse.value + (rmse.high - rmse.value) / 2, 4)})
    assert (met.metrics["rmse"]["verdict"], met.status) == ("ok", performance.OK)


def test_an_interval_that_could_not_be_computed_reaches_no_bar():
    frame = pd.DataFrame({"prediction": [3.0], "probability": [np.nan], "y": [1.0]})
    status, table = performance.judge(frame, contract("regression"), {"rmse": 1.0}, 1, {})
    assert np.isnan(table["rmse"]["low"])  # one row: no standard error
    assert (table["rmse"]["verdict"], status) == ("below", performance.BELOW)


@pytest.mark.integration  # slower than the fast tier
def test_cli_within_noise_exits_0_and_says_so(sample_repo, tmp_path):
    """staging judges an unregistered version by its gates.min roc_auc 0.78; 400 labelled
    rows scoring 0.765 [0.720, 0.811] are within noise of it: exit 0, shown as such."""
    logs, store, env = tmp_path / "logs", tmp_path / "o", "staging"
    truth, score, predicted = binary_traffic(400, 0.45, seed=0)
    ids = write_log(logs, env, "v9.0.0", "stable", predicted.tolist(), score.tolist())
    pd.DataFrame({"request_id": ids, "churn": truth}).to_csv(tmp_path / "o.csv", index=False)
    mlops(sample_repo, "outcomes", "ingest", str(tmp_path / "o.csv"), "--env", env, "--no-dvc",
          "--store", str(store))  # fmt: skip
    args = ["performance", "--env", env, "--log-dir", str(logs), "--store", str(store),
            "--out-dir", str(tmp_path / "out")]  # fmt: skip
    done = mlops(sample_repo, *args, "--json", check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    auc = result["groups"][0]["metrics"]["roc_auc"]
    assert auc["value"] < auc["threshold"] == 0.78 <= auc["high"]
    assert (auc["verdict"], auc["passed"]) == ("within_noise", True)
    assert result["status"] == "within noise of its bar"
    # the demo's summary line says so too, with the interval of the one version measured
    fig = figure(tmp_path / "out" / "performance.json")
    assert (fig.status, fig.low, fig.high) == ("within noise of its bar", auc["low"], auc["high"])
    assert fig.describe().startswith(f"roc_auc {auc['value']:.4f} [{auc['low']:.4f}, ")
    text = mlops(sample_repo, *args, check=False)
    assert text.returncode == 0
    assert "| ≥ 0.78 ⚠️ below, within noise at 95 % |" in text.stdout
    assert "| v9.0.0 | stable | 400 | 400 | 100.0% | ⚠️ within noise of its bar at 95 % |" in (
        text.stdout)  # fmt: skip
