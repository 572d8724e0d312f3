"""`mlops report` and `mlops gate` on a real repository (git + DVC with a local remote)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import deploy_version, dvc, git, mlops, point_dvc_remote

pytestmark = pytest.mark.integration

REPORT = "reports/pr/pr-report.md"


def _report(repo: Path, base: str = "HEAD", check: bool = True):
    proc = mlops(repo, "report", "--base", base, check=check)
    return proc, (repo / REPORT).read_text() if (repo / REPORT).exists() else ""


def _set_metric(repo: Path, name: str, value: float) -> dict:
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    metrics[name] = value
    (repo / "reports/metrics.json").write_text(json.dumps(metrics))
    return metrics


def test_param_and_metric_change_shows_deltas_and_only_changed_keys(repo):
    base = json.loads((repo / "reports/metrics.json").read_text())
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["hist_gradient_boosting"]["learning_rate"] = 0.1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _set_metric(repo, "roc_auc", base["roc_auc"] + 0.0123)
    proc, md = _report(repo)
    assert "wrote reports/pr/pr-report.md" in proc.stdout
    roc = next(line for line in md.splitlines() if line.startswith("| `roc_auc` |"))
    assert f"| {base['roc_auc']:.4f} | {base['roc_auc'] + 0.0123:.4f} | +0.0123 🟢 |" in roc
    assert "| `train.hist_gradient_boosting.learning_rate` | `0.08` | `0.1` |" in md
    assert "train.seed" not in md  # unchanged keys stay out
    assert "**Verdict:**" in md and "**production**" in md and "**staging**" in md
    for png in ("roc.png", "precision_recall.png", "confusion.png"):
        assert f"]({png})" in md and (repo / "reports/pr" / png).stat().st_size > 1000
    assert "mlops report --base HEAD" in md  # how to reproduce
    assert "cost per 1,000 predictions" in md
    assert "the data is unchanged (same md5)" in md


def test_first_pr_base_without_reports_says_what_is_missing(repo):
    # a commit without reports/ (never evaluated), made without touching the workspace
    git(repo, "rm", "-rq", "--cached", "reports")
    tree = git(repo, "write-tree")
    git(repo, "reset", "-q")
    git(repo, "branch", "empty-base", git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "bare"))
    proc, md = _report(repo, "empty-base")
    assert proc.returncode == 0
    assert "`reports/metrics.json` does not exist at empty-base" in md
    roc = next(line for line in md.splitlines() if line.startswith("| `roc_auc` |"))
    assert roc.split("|")[2].strip() == "—"  # no base value, and no crash
    assert "nothing deployed to production yet" in md


def test_unknown_base_is_a_clear_error(repo):
    proc, _ = _report(repo, "no-such-branch", check=False)
    assert proc.returncode == 2
    assert "error: --base 'no-such-branch': no such Git revision" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_params_key_of_wrong_type_is_a_clear_error(repo):
    # hist_gradient_boosting's max_iter, the first in the file
    text = re.sub(r"max_iter: \d+", "max_iter: lots", (repo / "params.yaml").read_text(), count=1)
    (repo / "params.yaml").write_text(text)
    proc, _ = _report(repo, check=False)
    assert proc.returncode == 2
    assert (
        "params.yaml: train.hist_gradient_boosting.max_iter = 'lots': must be int, got str"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr


def _change_data(repo: Path) -> None:
    mlops(repo, "data", "generate", "--rows", "3000", "--seed", "7", "--drift", "0.8")
    dvc(repo, "add", "data")


def test_data_change_measures_drift_against_base_data_from_the_remote(repo):
    _change_data(repo)
    shutil.rmtree(repo / ".dvc" / "cache")  # the base data can only come from the remote
    _, md = _report(repo)
    assert "(unchanged)" not in md.split("### Data")[1].split("###")[0]
    assert "- rows: 3,000 → 3,000" in md  # validation.json of the workspace is stale: as given
    assert "columns drifted" in md and "dataset drift" in md
    drift_rows = [
        line
        for line in md.splitlines()
        if line.startswith("| `") and ("Wasserstein" in line or "Jensen-Shannon" in line)
    ]
    assert drift_rows


def test_data_not_in_the_remote_is_a_line_not_a_crash(repo, tmp_path):
    _change_data(repo)
    shutil.rmtree(repo / ".dvc" / "cache")
    empty = tmp_path / "empty-remote"
    empty.mkdir()
    point_dvc_remote(repo, empty)
    proc, md = _report(repo)
    assert proc.returncode == 0
    assert "could not be read from the DVC remote or cache" in md
    assert "Was `dvc push` run" in md


def test_gate_compares_with_the_version_live_in_the_environment(repo):
    deploy_version(repo, "v1.0.0", ("production",))
    # a genuinely worse model (one split): the live one is scored on the same rows, so only a
    # real drop fails the regression gate, never an edited metrics.json
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["hist_gradient_boosting"].update(max_iter=1, max_leaf_nodes=2)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(repo, "repro", "evaluate")
    proc = mlops(repo, "gate", "--env", "production", check=False)
    assert proc.returncode == 1
    assert "production: FAIL" in proc.stdout and "live v1.0.0" in proc.stdout
    line = next(x for x in proc.stdout.splitlines() if "max_regression" in x)
    assert "drop ≤ 0.02 vs live" in line and "❌" in line

    result = json.loads(mlops(repo, "gate", "--env", "production", "--json", check=False).stdout)
    (prod,) = result
    failed = {g["gate"] for g in prod["gates"] if not g["passed"]}
    assert "max_regression" in failed and prod["live_version"] == "v1.0.0"

    _, md = _report(repo)
    header = md.splitlines()[6]  # the live columns: on this change's rows, and as recorded
    assert "| production (v1.0.0) on these rows | production (v1.0.0) own holdout |" in header
    verdict = next(line for line in md.splitlines() if line.startswith("**Verdict:**"))
    assert "❌ **production**: gates fail (" in verdict and "max_regression roc_auc" in verdict


def test_gate_with_nothing_live_passes_the_regression_gate_and_says_why(repo):
    proc = mlops(repo, "gate", "--env", "staging", "--json", check=False)  # 3,000 rows: weak
    (staging,) = json.loads(proc.stdout)
    regression = next(g for g in staging["gates"] if g["gate"] == "max_regression")
    assert regression["passed"] and "nothing live in staging" in regression["detail"]


def test_gate_unknown_environment_is_a_clear_error(repo):
    proc = mlops(repo, "gate", "--env", "prod", check=False)
    assert proc.returncode == 2 and "unknown environment 'prod'" in proc.stderr
