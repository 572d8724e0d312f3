"""mlops register / versions: annotated GTO tags whose message is the version's metadata."""

from __future__ import annotations

import json
import sys

from tests.conftest import git, mlops, run
from tests.promotion.conftest import dvc_checkout


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
    """Put v1.0.0's dvc.lock, reports and model back in the workspace (uncommitted)."""
    git(repo, "checkout", "churn-model@v1.0.0", "--", "dvc.lock", "reports")
    dvc_checkout(repo, "artifacts/model.skops")


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


def _tags(repo) -> dict[str, str]:
    local = git(repo, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags")
    return dict(line.split() for line in local.splitlines())


def _origin_tags(repo) -> dict[str, str]:
    listed = git(repo, "ls-remote", "--tags", "--refs", "origin")
    return {ref.removeprefix("refs/tags/"): sha for sha, ref in map(str.split, listed.splitlines())}


def _other_clone(promo, tmp_path):
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(promo.parent / "origin.git"), str(other))
    return other


def _claim(other, version: str) -> None:
    """Another place registers ``version`` (a different model) and pushes it first."""
    meta = {"sha256": "sha256:" + "e" * 64, "metrics": {"roc_auc": 0.5}}
    git(other, "tag", "-a", f"churn-model@{version}", "-m", json.dumps(meta))
    git(other, "push", "-q", "origin", f"churn-model@{version}")


def test_register_compares_with_origin_and_survives_a_lost_race(promo, tmp_path):
    _first_model_back(promo)
    git(promo, "commit", "-qam", "back to the first model")
    other = _other_clone(promo, tmp_path)
    _claim(other, "v1.2.0")  # origin has it, this clone does not know yet
    # and while this clone registers, another registration takes v1.3.0 first: the push loses
    hook = promo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(
        "#!/bin/sh\n"
        '[ "$1" = committed ] || exit 0\n'
        "grep -q 'refs/tags/churn-model@v1.3.0' || exit 0\n"
        f"[ -e {tmp_path}/raced ] && exit 0\n"
        f"touch {tmp_path}/raced\n"
        f'cd {other} && git tag -a churn-model@v1.3.0 -m \'{{"sha256": "sha256:{"d" * 64}"}}\' '
        "&& git push -q origin churn-model@v1.3.0\n"
    )
    hook.chmod(0o755)
    out = mlops(promo, "register", "--push")
    assert "registered churn-model@v1.4.0" in out.stdout and "pushed" in out.stdout
    assert (tmp_path / "raced").exists()
    hook.unlink()
    # no local-only tag, and every local tag is origin's
    assert _tags(promo) == _origin_tags(promo)
    again = mlops(promo, "register", "--push")
    assert "churn-model@v1.4.0 already holds this model" in again.stdout


def test_register_then_register_push_pushes_it(promo):
    _first_model_back(promo)
    git(promo, "commit", "-qam", "back to the first model")
    out = mlops(promo, "register")
    assert "registered churn-model@v1.2.0" in out.stdout and "--push" in out.stdout
    assert "churn-model@v1.2.0" not in _origin_tags(promo)
    out = mlops(promo, "register", "--push")
    assert "churn-model@v1.2.0 already holds this model" in out.stdout and "pushed" in out.stdout
    assert _tags(promo) == _origin_tags(promo)


def test_register_refuses_reports_that_differ_from_dvc_lock(promo):
    _first_model_back(promo)
    git(promo, "commit", "-qam", "back to the first model")
    metrics = promo / "reports" / "metrics.json"
    edited = json.loads(metrics.read_text())
    edited["roc_auc"] = 0.999
    metrics.write_text(json.dumps(edited))
    out = mlops(promo, "register", check=False)
    assert (
        out.returncode == 2 and "reports/metrics.json is not the file dvc.lock pins" in out.stderr
    )
    git(promo, "commit", "-qam", "committed, still not what dvc.lock pins")
    out = mlops(promo, "register", check=False)
    assert (
        out.returncode == 2 and "reports/metrics.json is not the file dvc.lock pins" in out.stderr
    )
    assert git(promo, "tag", "--list").split() == ["churn-model@v1.0.0", "churn-model@v1.1.0"]
