"""mlops register / versions: annotated GTO tags whose message is the version's metadata."""

from __future__ import annotations

import json
import sys

from tests.conftest import git, mlops, run


def test_register_tags_v1_then_minor_bumps_and_skips_unchanged(promo):
    tags = git(promo, "tag", "--list").split()
    assert tags == ["churn-model@v1.0.0", "churn-model@v1.1.0"]
    assert git(promo, "cat-file", "-t", "churn-model@v1.1.0") == "tag"  # annotated
    message = json.loads(git(promo, "tag", "-l", "--format=%(contents)", "churn-model@v1.1.0"))
    assert (
        message["sha256"].startswith("sha256:")
        and message["params"]["train"]["hist_gradient_boosting"]["max_iter"] == 120
    )
    assert set(message) >= {"artifact", "md5", "data_md5", "metrics", "slices", "commit"}
    assert "churn-model v1.1.0" in message["model_card"]  # the card is stored with the version
    again = mlops(promo, "register")
    assert "already holds this model" in again.stdout
    assert git(promo, "tag", "--list").split() == tags


def _first_model_back(repo):
    """Put v1.0.0's dvc.lock and model back in the workspace (uncommitted)."""
    git(repo, "checkout", "churn-model@v1.0.0", "--", "dvc.lock")
    run([sys.executable, "-m", "dvc", "checkout", "artifacts/model.skops"], repo)


def test_register_refuses_uncommitted_lock_then_bumps_major_and_pushes(promo):
    _first_model_back(promo)
    out = mlops(promo, "register", check=False)
    assert out.returncode == 2 and "dvc.lock has uncommitted changes" in out.stderr
    assert "Traceback" not in out.stderr
    git(promo, "commit", "-qam", "back to the first model")
    out = mlops(promo, "register", "--bump", "major", "--push")
    assert "churn-model@v2.0.0" in out.stdout
    assert "churn-model@v2.0.0" in git(promo, "ls-remote", "--tags", "origin")


def test_register_refuses_a_workspace_model_dvc_lock_does_not_pin(promo):
    (promo / "artifacts" / "model.skops").write_bytes(b"not the model dvc.lock pins")
    out = mlops(promo, "register", check=False)
    assert out.returncode == 2 and "is not the file dvc.lock pins" in out.stderr


def test_versions_lists_metrics_and_deployments(promo):
    rows = json.loads(mlops(promo, "versions", "--json").stdout)
    assert [r["version"] for r in rows] == ["v1.0.0", "v1.1.0"]
    assert rows[0]["metrics"]["roc_auc"] > 0.5 and rows[0]["deployed"] == []
    assert "v1.1.0" in mlops(promo, "versions").stdout


def test_gto_reads_our_tags(promo):
    gto = str(__import__("pathlib").Path(sys.executable).with_name("gto"))
    out = run([gto, "show", "--json"], promo).stdout
    data = json.loads(out)
    assert "churn-model" in json.dumps(data)
    versions = run([gto, "show", "churn-model", "--json"], promo).stdout
    assert "v1.0.0" in versions and "v1.1.0" in versions
