"""Promote by merge, roll back by revert, audit by git log — with real git and DVC."""

from __future__ import annotations

import json

import yaml

from mlops.promotion import audit, check, promote, rollback
from tests.conftest import git, mlops
from tests.promotion.conftest import merge_pr


def _models(repo):
    return yaml.safe_load((repo / "models.yaml").read_text())["models"]["churn-model"]


def test_the_loop_promote_merge_canary_rollback_audit(promo):
    out = mlops(promo, "promote", "staging", "v1.0.0", "--message", "first release", "--push")
    assert "promote staging: none → v1.0.0" in out.stdout
    # no `gh` here: the branch is pushed and the exact next command printed
    assert (
        "pushed promote/staging-v1.0.0" in out.stdout and "gh pr create --base main" in out.stdout
    )
    assert "refs/heads/promote/staging-v1.0.0" in git(promo, "ls-remote", "origin")
    assert git(promo, "branch", "--show-current") == "promote/staging-v1.0.0"
    text = (promo / "models.yaml").read_text()
    assert text.startswith("# Desired deployed state")  # comments survive the edit
    tag = json.loads(git(promo, "tag", "-l", "--format=%(contents)", "churn-model@v1.0.0"))
    assert _models(promo)["staging"] == {"version": "v1.0.0", "digest": tag["sha256"]}
    assert "first release" in git(promo, "log", "-1", "--format=%b")
    merge_pr(promo, "promote/staging-v1.0.0", 1)

    promote.promote(promo, "production", "v1.0.0")
    report = mlops(promo, "check", "--base", "main", "--out", str(promo / "plan.md"))
    assert "production | promotion | none | v1.0.0" in report.stdout
    assert "roc_auc" in (promo / "plan.md").read_text()
    merge_pr(promo, "promote/production-v1.0.0", 2)
    promote.promote(promo, "staging", "v1.1.0")
    merge_pr(promo, "promote/staging-v1.1.0", 3)
    promote.promote(promo, "production", "v1.1.0", canary=10, message="try it on 10%")
    merge_pr(promo, "promote/production-v1.1.0-canary10", 4)
    assert _models(promo)["production"]["canary"]["traffic"] == 10

    out = mlops(promo, "rollback", "production")
    assert 'Revert "promote production: v1.0.0 → v1.0.0 + canary v1.1.0 at 10%"' in out.stdout
    assert "canary" not in _models(promo)["production"]
    assert "This reverts commit" in git(promo, "log", "-1", "--format=%b")
    branch = git(promo, "branch", "--show-current")
    merge_pr(promo, branch, 5)

    rows = json.loads(mlops(promo, "audit", "--json").stdout)
    assert [(r["env"], r["from"], r["to"], r["pr"]) for r in rows] == [
        ("staging", "none", "v1.0.0", 1),
        ("production", "none", "v1.0.0", 2),
        ("staging", "v1.0.0", "v1.1.0", 3),
        ("production", "v1.0.0", "v1.0.0 + canary v1.1.0 at 10%", 4),
        ("production", "v1.0.0 + canary v1.1.0 at 10%", "v1.0.0", 5),
    ]
    assert all(r["author"] == "Test Author <author@example.com>" for r in rows)
    assert rows[-1]["kind"] == "rollback" and rows[-1]["reverts_subject"].startswith(
        "promote production"
    )
    assert rows[-1]["reverts"] == rows[-2]["commit"]
    table = mlops(promo, "audit", "--env", "production").stdout
    assert "rollback (reverts" in table and "staging" not in table.split("\n", 1)[1]


def _refused(repo, *args, expect: str, code: int = 2):
    before = (repo / "models.yaml").read_text()
    out = mlops(repo, *args, check=False)
    assert out.returncode == code, out.stdout + out.stderr
    assert expect in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert (repo / "models.yaml").read_text() == before
    assert git(repo, "branch", "--show-current") == "main"
    return out.stderr


def test_promote_refuses_bad_requests(promo):
    _refused(promo, "promote", "qa", "v1.0.0", expect="unknown environment 'qa'")
    _refused(promo, "promote", "staging", "v9.9.9", expect="churn-model@v9.9.9: no such version")
    _refused(promo, "promote", "production", "v1.1.0", "--canary", "10", expect="no stable version")
    promote.promote(promo, "staging", "v1.0.0")
    merge_pr(promo, "promote/staging-v1.0.0", 1)
    promote.promote(promo, "production", "v1.0.0")
    merge_pr(promo, "promote/production-v1.0.0", 2)
    _refused(promo, "promote", "production", "v1.1.0", "--canary", "0", expect="from 1 to 99")
    _refused(promo, "promote", "production", "v1.1.0", "--canary", "150", expect="from 1 to 99")
    _refused(promo, "promote", "production", "v1.1.0", "--canary", "60", expect="max_traffic")
    message = _refused(
        promo, "promote", "production", "v1.1.0", expect="never live in staging", code=1
    )
    assert "churn-model@v1.1.0" in message
    _refused(promo, "promote", "staging", "v1.0.0", expect="already serves v1.0.0")


def _write(repo, staging=None, production=None):
    envs = {k: v for k, v in (("staging", staging), ("production", production)) if v}
    (repo / "models.yaml").write_text(yaml.safe_dump({"models": {"churn-model": envs}}))


def _pin(repo, version):
    meta = json.loads(git(repo, "tag", "-l", "--format=%(contents)", f"churn-model@{version}"))
    return {"version": version, "digest": meta["sha256"]}


def test_check_lists_every_failure(promo):
    wrong = {**_pin(promo, "v1.1.0"), "digest": "sha256:" + "0" * 64}
    _write(promo, staging=wrong, production={"version": "v7.0.0", "digest": "sha256:" + "1" * 64})
    with open(promo / "models.yaml", "a") as handle:
        handle.write("    qa: {version: v1.0.0, digest: " + _pin(promo, "v1.0.0")["digest"] + "}\n")
    out = mlops(promo, "check", "--base", "main", check=False)
    assert out.returncode == 1
    assert "digest = sha256:0000" in out.stderr and "is registered with" in out.stderr
    assert "v7.0.0': no such version" in out.stderr
    assert "unknown environment 'qa'" in out.stderr
    assert "3 problem(s)" in out.stderr


def test_check_refuses_bad_files(promo):
    cases = {
        "models:\n  churn-model: {staging: [\n": "not valid YAML",
        yaml.safe_dump(
            {
                "models": {
                    "churn-model": {
                        "staging": {
                            **_pin(promo, "v1.0.0"),
                            "canary": {**_pin(promo, "v1.1.0"), "traffic": 150},
                        }
                    }
                }
            }
        ): "greater than the maximum of 99",
        yaml.safe_dump(
            {
                "models": {
                    "churn-model": {"staging": {"canary": {**_pin(promo, "v1.1.0"), "traffic": 10}}}
                }
            }
        ): "a canary or a shadow needs a stable version",
    }
    for text, expect in cases.items():
        report = check.evaluate(promo, text, "main")
        assert not report.ok and expect in report.failures[0], report.failures


def test_check_refuses_artifact_missing_from_remote(promo):
    meta = json.loads(git(promo, "tag", "-l", "--format=%(contents)", "churn-model@v1.1.0"))
    remote = promo.parent / "remote" / "files" / "md5"
    (remote / meta["md5"][:2] / meta["md5"][2:]).unlink()
    _write(promo, staging=_pin(promo, "v1.1.0"))
    report = check.evaluate(promo, (promo / "models.yaml").read_text(), "main")
    assert any("is not in the DVC remote" in f for f in report.failures), report.failures


def test_rollback_to_a_version_that_served_is_not_blocked_by_order(promo):
    for n, (env, version) in enumerate(
        [
            ("staging", "v1.0.0"),
            ("production", "v1.0.0"),
            ("staging", "v1.1.0"),
            ("production", "v1.1.0"),
        ],
        1,
    ):
        promote.promote(promo, env, version)
        merge_pr(promo, f"promote/{env}-{version}", n)
    proposal = rollback.rollback(promo, "production")
    assert _models(promo)["production"]["version"] == "v1.0.0"
    assert proposal.subject == 'Revert "promote production: v1.0.0 → v1.1.0"'
    assert check.evaluate(promo, (promo / "models.yaml").read_text(), "main").ok
    changes = audit.history(promo, env="staging")
    assert [c.to_text for c in changes] == ["v1.0.0", "v1.1.0"]
