"""End to end against the real server: branch → check → merge → deploy → revert → deploy,
and every deploy-time fault refused with the live deployment unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops.demos.drift import records
from mlops.formats import models_file
from mlops.model import registry
from mlops.promotion import promote, rollback
from tests.conftest import git, mlops
from tests.promotion.conftest import TOKEN, merge_pr

pytestmark = pytest.mark.e2e


def _deploy(repo, *args, check=True, cache: Path | None = None):
    env = {"MLOPS_SYNC_TOKEN": TOKEN, **({"XDG_CACHE_HOME": str(cache)} if cache else {})}
    return mlops(repo, "deploy", "--wait", "120", *args, check=check, env=env)


def _pins(server) -> tuple:
    view = server.version()
    canary = view["canary"]
    return (
        view["stable"]["version"],
        canary and (canary["version"], canary["traffic"]),
        view["sync"],
    )


def test_branch_check_merge_deploy_revert_deploy(live):
    repo, servers = live
    # the servers reconciled to origin/main when they started: deploy has nothing to change
    out = _deploy(repo)
    head = git(repo, "rev-parse", "HEAD")
    assert out.stdout.count("nothing to do") == 2
    for server in servers.values():
        assert server.version()["commit"] == head and _pins(server) == ("v1.0.0", None, "Synced")

    promote.promote(repo, "staging", "v1.1.0", message="smaller model")
    mlops(repo, "check", "--base", "origin/main")
    merge_pr(repo, "promote/staging-v1.1.0", 3)
    out = _deploy(repo)
    assert "staging: v1.0.0 → v1.1.0" in out.stdout and "Synced" in out.stdout
    assert _pins(servers["staging"]) == ("v1.1.0", None, "Synced")
    assert "staging: already serves v1.1.0" in _deploy(repo).stdout  # idempotent

    promote.promote(repo, "production", "v1.1.0", canary=10)
    plan = mlops(repo, "check", "--base", "origin/main").stdout
    assert "production | canary | v1.0.0 | v1.0.0 + canary v1.1.0 at 10%" in plan
    merge_pr(repo, "promote/production-v1.1.0-canary10", 4)
    summary = repo.parent / "summary.md"
    mlops(repo, "deploy", env={"MLOPS_SYNC_TOKEN": TOKEN, "GITHUB_STEP_SUMMARY": str(summary)})
    assert _pins(servers["production"]) == ("v1.0.0", ("v1.1.0", 10), "Synced")
    assert (
        "| production | v1.0.0 | v1.0.0 + canary v1.1.0 at 10% | deployed |" in summary.read_text()
    )

    proposal = rollback.rollback(repo, "production")
    mlops(repo, "check", "--base", "origin/main")
    merge_pr(repo, proposal.branch, 5)
    _deploy(repo)
    head = git(repo, "rev-parse", "HEAD")
    assert _pins(servers["production"]) == ("v1.0.0", None, "Synced")
    assert servers["production"].version()["commit"] == head

    status = {r["env"]: r for r in json.loads(mlops(repo, "status", "--json").stdout)}
    assert {(s["sync"], s["health"]) for s in status.values()} == {("Synced", "Healthy")}
    servers["production"].predict(records(repo, 5, seed=3))
    cost = json.loads(mlops(repo, "status", "--json").stdout)
    assert next(r for r in cost if r["env"] == "production")["usd_per_1000"] > 0
    rows = json.loads(mlops(repo, "audit", "--json").stdout)
    assert [(r["env"], r["to"], r["pr"], r["kind"]) for r in rows] == [
        ("staging", "v1.0.0", 1, "promotion"),
        ("production", "v1.0.0", 2, "promotion"),
        ("staging", "v1.1.0", 3, "promotion"),
        ("production", "v1.0.0 + canary v1.1.0 at 10%", 4, "promotion"),
        ("production", "v1.0.0", 5, "rollback"),
    ]
    assert {r["author"] for r in rows} == {"Test Author <author@example.com>"}


def _push_models_yaml(repo: Path, text: str, message: str) -> None:
    """A change that skipped the PR check, straight onto main."""
    (repo / "models.yaml").write_text(text)
    git(repo, "commit", "-qam", message)
    git(repo, "push", "-q", "origin", "main")


def _undo(repo: Path) -> None:
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "push", "-q", "--force", "origin", "main")


def _refused(repo, servers, expect: str, *args, cache=None):
    before = {env: s.version() for env, s in servers.items() if s.process.poll() is None}
    out = _deploy(repo, *args, check=False, cache=cache)
    assert out.returncode == 2, out.stdout + out.stderr
    assert expect in out.stderr and "Traceback" not in out.stderr, out.stderr
    for env, view in before.items():
        now = servers[env].version()
        assert (now["commit"], now["stable"], now["canary"]) == (
            view["commit"],
            view["stable"],
            view["canary"],
        ), env
    return out.stderr


def test_deploy_faults_leave_the_live_deployment_unchanged(live, tmp_path):
    repo, servers = live
    _deploy(repo)
    text = (repo / "models.yaml").read_text()

    _push_models_yaml(repo, text.replace("models:", "models: [", 1), "broken yaml")
    _refused(repo, servers, "not valid YAML")
    _undo(repo)

    good = registry.get_version(repo, "churn-model", "v1.0.0").digest
    _push_models_yaml(repo, text.replace(good, "sha256:" + "0" * 64, 1), "wrong digest")
    assert "is registered with" in _refused(repo, servers, "sha256:0000")
    _undo(repo)

    _refused(repo, servers, "unknown environment 'qa'", "--env", "qa")

    promote.promote(repo, "staging", "v1.1.0")  # checked while the artifact is in the remote
    merge_pr(repo, "promote/staging-v1.1.0", 3)
    md5 = registry.get_version(repo, "churn-model", "v1.1.0").metadata["md5"]
    obj = repo.parent / "remote" / "files" / "md5" / md5[:2] / md5[2:]
    saved = tmp_path / "object"
    shutil.move(obj, saved)
    _refused(repo, servers, "is not in the DVC remote", cache=tmp_path / "cache")
    shutil.move(saved, obj)

    servers["production"].stop()
    message = _refused(repo, servers, "production: ")
    assert "no answer" in message and "Nothing was deployed" in message.replace(
        "nothing", "Nothing"
    )
    assert _pins(servers["staging"])[0] == "v1.0.0"
    summary = tmp_path / "summary.md"
    env = {"MLOPS_SYNC_TOKEN": TOKEN, "GITHUB_STEP_SUMMARY": str(summary)}
    assert mlops(repo, "deploy", check=False, env=env).returncode == 2
    assert "## Deploy failed" in summary.read_text() and "production" in summary.read_text()


def test_deploy_refuses_what_check_refuses_and_accepts_a_descendant(live, tmp_path):
    repo, servers = live
    _deploy(repo)
    # a direct push to main that a pull request could not merge: v1.1.0 never live in staging
    v110 = registry.get_version(repo, "churn-model", "v1.1.0")
    pin = models_file.Deployment(models_file.Pin(v110.version, v110.digest))
    text = models_file.with_deployment((repo / "models.yaml").read_text(), "production", pin)
    _push_models_yaml(repo, text, "direct push: production v1.1.0")
    message = _refused(repo, servers, "fails `mlops check` against the deployed state")
    assert "churn-model@v1.1.0 was never live in staging" in message
    _undo(repo)

    # someone pushes to main after this clone's checkout, and the servers follow it
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo.parent / "origin.git"), str(other))
    (other / "NOTES.md").write_text("a change that is not a promotion\n")
    git(other, "add", "NOTES.md")
    git(other, "commit", "-qm", "notes")
    git(other, "push", "-q", "origin", "main")
    newer = git(other, "rev-parse", "HEAD")
    for server in servers.values():
        assert server.sync()["commit"] == newer
    out = _deploy(repo)  # this clone has not fetched `newer`: it does now
    assert f"commit {newer[:10]}, a descendant of" in out.stdout
    assert out.stdout.count("nothing to do") == 2

    git(repo, "pull", "-q", "--ff-only", "origin", "main")
    promote.promote(repo, "staging", "v1.1.0")
    merge_pr(repo, "promote/staging-v1.1.0", 3)
    out = _deploy(repo)
    assert "staging: v1.0.0 → v1.1.0" in out.stdout
    assert "production: v1.0.0 unchanged (commit" in out.stdout
