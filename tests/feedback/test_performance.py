"""`mlops performance`: live metrics from outcomes joined to the log, per version and route."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mlops.feedback import intervals, performance
from tests.conftest import git, mlops
from tests.feedback.conftest import binary_traffic, write_log
from tests.feedback.contracts import contract


def _frame(predicted, target, scores=None):
    return pd.DataFrame({"prediction": predicted, "probability": scores, "y": target})


def test_binary_metrics_equal_sklearn_and_intervals_cover_them():
    truth, score, predicted = binary_traffic(5000, 1.0)
    got = performance.live_metrics(_frame(predicted, truth, score), contract("binary"))
    assert got["roc_auc"].value == pytest.approx(skm.roc_auc_score(truth, score))
    assert got["f1"].value == pytest.approx(skm.f1_score(truth, predicted))
    assert got["precision"].value == pytest.approx(skm.precision_score(truth, predicted))
    assert got["accuracy"].value == pytest.approx(skm.accuracy_score(truth, predicted))
    assert got["log_loss"].value == pytest.approx(skm.log_loss(truth, score))
    for est in got.values():
        assert est.low < est.value < est.high and est.high - est.low < 0.06


def test_intervals_narrow_with_more_rows():
    small = performance.live_metrics(_frame(*reversed(binary_traffic(300, 1.0)[::2]), None),
                                     contract("binary"))  # fmt: skip
    truth, _, predicted = binary_traffic(30_000, 1.0)
    large = performance.live_metrics(_frame(predicted, truth), contract("binary"))
    width = {k: e.high - e.low for k, e in small.items()}
    assert all(large[k].high - large[k].low < width[k] / 5 for k in width)
    assert "roc_auc" not in large  # no scores logged: no AUC, no log loss
    cm = intervals.confusion(truth, predicted, 2)
    boot = intervals.bootstrap(cm, intervals.accuracy)
    # the multinomial bootstrap agrees with the normal interval of a proportion
    p = boot.value
    half = 1.96 * np.sqrt(p * (1 - p) / len(truth))
    assert boot.low == pytest.approx(p - half, abs=0.002)
    assert boot.high == pytest.approx(p + half, abs=0.002)


def test_multiclass_and_regression():
    truth = np.array(["a", "b", "c", "a", "b", "c", "a", "a"] * 50)
    predicted = np.array(["a", "b", "b", "a", "c", "c", "a", "b"] * 50)
    got = performance.live_metrics(_frame(predicted, truth), contract("multiclass"))
    assert got["accuracy"].value == pytest.approx(skm.accuracy_score(truth, predicted))
    assert got["macro_f1"].value == pytest.approx(skm.f1_score(truth, predicted, average="macro"))
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 2000)
    pred = y + rng.normal(0, 2, 2000)
    got = performance.live_metrics(_frame(pred, y), contract("regression"))
    assert got["rmse"].value == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert got["mae"].value == pytest.approx(skm.mean_absolute_error(y, pred))
    assert got["rmse"].low < got["rmse"].value < got["rmse"].high


def test_multiclass_log_loss_from_the_logged_class_probabilities_and_regression_r2():
    rng = np.random.default_rng(4)
    classes = np.array(["a", "b", "c"])
    proba = rng.dirichlet([2, 1, 1], 3000)
    truth = classes[[rng.choice(3, p=p) for p in proba]]
    frame = _frame(classes[proba.argmax(axis=1)], truth, proba.max(axis=1))
    assert "log_loss" not in performance.live_metrics(frame, contract("multiclass"))
    frame["probabilities"] = list(proba)
    got = performance.live_metrics(frame, contract("multiclass"))
    assert got["log_loss"].value == pytest.approx(skm.log_loss(truth, proba, labels=classes))
    assert got["log_loss"].low < got["log_loss"].value < got["log_loss"].high
    frame.loc[5, "probabilities"] = None  # one row logged before class probabilities were
    assert "log_loss" not in performance.live_metrics(frame, contract("multiclass"))
    y = rng.normal(10, 3, 2000)
    pred = y + rng.normal(0, 2, 2000)
    got = performance.live_metrics(_frame(pred, y), contract("regression"))
    assert got["r2"].value == pytest.approx(skm.r2_score(y, pred))
    assert got["r2"].low < got["r2"].value < got["r2"].high


def test_lower_is_better_thresholds_and_too_few_outcomes():
    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 500)
    frame = _frame(y + rng.normal(0, 1.0, 500), y)
    status, table = performance.judge(frame, contract("regression"), {"rmse": 0.5}, 100, {})
    assert status == performance.BELOW and table["rmse"]["passed"] is False
    assert table["rmse"]["low"] > 0.5  # the whole interval above the bar: beyond noise
    assert table["rmse"]["verdict"] == "below"
    status, _ = performance.judge(frame, contract("regression"), {"rmse": 2.0}, 100, {})
    assert status == performance.OK
    status, table = performance.judge(frame, contract("regression"), {"rmse": 0.5}, 501, {})
    assert status == performance.NOT_ENOUGH and table == {}


def _outcomes(tmp_path, name, ids, labels):
    path = tmp_path / name
    pd.DataFrame({"request_id": ids, "churn": labels}).to_csv(path, index=False)
    return path


@pytest.mark.integration  # slower than the fast tier
def test_cli_per_version_and_route_with_coverage_and_holdout(sample_repo, tmp_path):
    repo, env, logs = sample_repo, "staging", tmp_path / "logs"
    tag = {
        "sha256": "sha256:" + "0" * 64,
        "metrics": {"roc_auc": 0.83, "f1": 0.6},
        "baselines": {"trivial": {"roc_auc": 0.5, "f1": 0.0}, "linear": {"roc_auc": 0.8}},
    }
    git(repo, "tag", "-a", "churn-model@v1.0.0", "-m", json.dumps(tag))
    good_truth, good_score, good_pred = binary_traffic(600, 2.0, seed=1)
    bad_truth, bad_score, bad_pred = binary_traffic(400, 0.1, seed=2)
    stable = write_log(logs, env, "v1.0.0", "stable", good_pred.tolist(), good_score.tolist())
    canary = write_log(logs, env, "v1.1.0", "canary", bad_pred.tolist(), bad_score.tolist(),
                       prefix="c")  # fmt: skip
    write_log(logs, env, "v1.1.0", "canary", [1] * 5, [0.9] * 5, prefix="x")  # never labelled
    # outcomes for 500 of the 600 stable predictions and all 400 canary ones, in two files
    mlops(repo, "outcomes", "ingest", str(_outcomes(tmp_path, "a.csv", stable[:500],
          good_truth[:500])), "--env", env, "--no-dvc", "--store", str(tmp_path / "o"))  # fmt: skip
    mlops(repo, "outcomes", "ingest", str(_outcomes(tmp_path, "b.csv", canary, bad_truth)),
          "--env", env, "--no-dvc", "--store", str(tmp_path / "o"))  # fmt: skip
    args = ["performance", "--env", env, "--log-dir", str(logs), "--store", str(tmp_path / "o"),
            "--out-dir", str(tmp_path / "out")]  # fmt: skip
    done = mlops(repo, *args, "--json", check=False)
    assert done.returncode == 1, done.stderr[-3000:]
    result = json.loads(done.stdout)
    groups = {(g["version"], g["route"]): g for g in result["groups"]}
    stable_g, canary_g = groups[("v1.0.0", "stable")], groups[("v1.1.0", "canary")]
    assert (stable_g["predictions"], stable_g["labelled"]) == (600, 500)
    assert stable_g["coverage"] == pytest.approx(500 / 600, abs=1e-6)
    assert (canary_g["predictions"], canary_g["labelled"]) == (405, 400)
    auc = stable_g["metrics"]["roc_auc"]
    assert auc["value"] == pytest.approx(skm.roc_auc_score(good_truth[:500], good_score[:500]),
                                         abs=1e-6)  # fmt: skip
    # the sample's staging live bar, auto: v1.0.0's holdout 0.83 - 0.25 x (0.83 - 0.5)
    assert auc["holdout"] == 0.83 and auc["threshold"] == 0.7475 and auc["passed"] is True
    assert stable_g["bars"]["roc_auc"]["how"] == (
        "auto: v1.0.0's holdout roc_auc 0.83 - 0.25 x its lift over the trivial baseline 0.5"
    )
    assert stable_g["status"] == "ok" and canary_g["status"] == "below threshold"
    assert canary_g["metrics"]["roc_auc"]["holdout"] is None  # v1.1.0 is not registered
    # so its bar is staging's gates.min, and it says why
    assert canary_g["bars"]["roc_auc"]["source"] == "gates.min"
    assert canary_g["metrics"]["roc_auc"]["threshold"] == 0.78
    # and its whole interval is below that bar: beyond noise, so it fails
    assert canary_g["metrics"]["roc_auc"]["high"] < 0.78
    assert canary_g["metrics"]["roc_auc"]["verdict"] == "below"
    # beside the holdout figure, the version's baselines on the same holdout
    assert (auc["trivial"], auc["linear"]) == (0.5, 0.8) and "bar_met_by_trivial" not in auc
    assert result["threshold_source"] == "environments/staging.yaml: monitoring.min_live"
    assert result["thresholds"] == {"roc_auc": "auto"}
    md = (tmp_path / "out" / "performance.md").read_text()
    assert "| v1.0.0 | stable | 600 | 500 | 83.3% | ✅ ok |" in md
    assert "| v1.1.0 | canary | 405 | 400 | 98.8% | ❌ below threshold |" in md
    assert "| 0.8300 | 0.5000 | 0.8000 | ≥ 0.7475 ✅ |" in md
    assert "| ≥ 0.78 ❌ below, beyond noise at 95 % |" in md
    assert "- bar `roc_auc` ≥ 0.7475: auto: v1.0.0's holdout roc_auc 0.83" in md
    assert "<table>" in (tmp_path / "out" / "performance.html").read_text()


@pytest.mark.integration  # slower than the fast tier
def test_cli_not_enough_outcomes_and_errors(sample_repo, tmp_path):
    logs = tmp_path / "logs"
    truth, score, pred = binary_traffic(300, 0.1)
    ids = write_log(logs, "staging", "v1.0.0", "stable", pred.tolist(), score.tolist())
    store = tmp_path / "o"
    mlops(sample_repo, "outcomes", "ingest", str(_outcomes(tmp_path, "a.csv", ids[:50],
          truth[:50])), "--env", "staging", "--no-dvc", "--store", str(store))  # fmt: skip
    base = ["performance", "--env", "staging", "--log-dir", str(logs), "--store", str(store),
            "--out-dir", str(tmp_path / "out")]  # fmt: skip
    done = mlops(sample_repo, *base, check=False)
    assert done.returncode == 0
    assert "not enough outcomes yet" in done.stdout and "| 300 | 50 | 16.7% |" in done.stdout
    done = mlops(sample_repo, *base, "--since", "7x", check=False)
    assert done.returncode == 2 and "--since '7x': not a duration" in done.stderr
    done = mlops(sample_repo, *base[:2], "nowhere", *base[3:], check=False)
    assert done.returncode == 2 and "unknown environment 'nowhere'" in done.stderr
    # the window: logged on 2026-11-20, so --since 1d (from now) holds nothing
    done = mlops(sample_repo, *base, "--since", "1d", "--json", check=False)
    assert done.returncode == 0 and json.loads(done.stdout)["groups"] == []


def test_only_the_versions_deployed_now_decide_the_verdict(tmp_path):
    """After a fix is deployed, the replaced version's rows in the window are shown but no
    longer alarm (monitor.yml would otherwise dispatch retrain.yml until they age out)."""
    from mlops.feedback import render

    (tmp_path / "models.yaml").write_text(
        "models:\n  m:\n    production:\n      version: v1.2.0\n"
        "      digest: sha256:" + "1" * 64 + "\n"
    )
    assert performance.deployed_versions(tmp_path, "production", "m") == {"v1.2.0"}
    assert performance.deployed_versions(tmp_path, "staging", "m") is None  # nothing there
    assert performance.deployed_versions(tmp_path / "nowhere", "production", "m") is None
    old = performance.Group("v1.0.0", "stable", 900, 900, performance.BELOW, deployed=False)
    new = performance.Group("v1.2.0", "stable", 500, 500, performance.OK)
    result = performance.Result("production", "m", "binary", "", {"roc_auc": 0.75}, "x", 200,
                                [old, new], 1400, 1400)  # fmt: skip
    assert (result.status, result.exit_code) == (performance.OK, 0)
    md = render.markdown(result)
    assert "## Live performance in production: ✅ ok" in md
    assert "| v1.0.0 | stable | 900 | 900 | 100.0% | ❌ below threshold (no longer deployed: " in md
    new.status = performance.BELOW
    assert result.exit_code == 1
