"""promote.yml's `check` job, its `run:` steps in order in a sandbox: a bare origin, a pull
request pinning a version that does not exist. The workspace becomes the base commit (whose
code judges), the pull request's files are read from their own checkout, the job fails, and the
plan is where the comment job takes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.formats import models_file
from mlops.formats.models_file import Deployment, Pin
from tests.conftest import ROOT, git
from tests.workflows.workflow_harness import link_locked_env, run_job

pytestmark = pytest.mark.integration

WORKFLOW = ROOT / ".github" / "workflows" / "promote.yml"
BRANCH = "promote/staging-v9.9.9"


def _pull_request(repo: Path, tmp: Path) -> tuple[Path, str, str]:
    """(CI's clone on the pull request, base commit, pull request commit)."""
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the template")
    origin = tmp / "origin.git"
    git(tmp, "clone", "-q", "--bare", str(repo), str(origin))
    ci = tmp / "ci"
    git(tmp, "clone", "-q", str(origin), str(ci))
    git(ci, "checkout", "-qb", BRANCH)
    path = ci / "models.yaml"
    pin = Deployment(Pin("v9.9.9", "sha256:" + "0" * 64))
    path.write_text(models_file.with_deployment(path.read_text(), "staging", pin))
    git(ci, "commit", "-qam", "promote staging: v9.9.9")
    git(ci, "push", "-q", "origin", BRANCH)
    link_locked_env(ci, ROOT / ".venv")
    return ci, git(ci, "rev-parse", "origin/main"), git(ci, "rev-parse", "HEAD")


def test_the_base_commit_judges_the_pull_requests_models_yaml(template_clone, tmp_path):
    ci, base, head = _pull_request(template_clone, tmp_path)
    context = {
        "github.base_ref": "main",
        "github.event.pull_request.base.sha": base,
        "github.token": "test-token",
    }
    job = run_job(WORKFLOW, "check", ci, context)

    aside = job.step(
        "Keep the PR's state aside as data; the workspace becomes the base commit (the judge)"
    )
    assert aside.returncode == 0, job.log()
    assert f"judge: {base[:7]}" in aside.output and f"judged: {head[:7]}" in aside.output
    assert git(ci, "rev-parse", "HEAD") == base  # `make setup` and `mlops` ran from here
    worktrees = git(ci, "worktree", "list", "--porcelain")
    assert f"HEAD {head}" in worktrees  # the pull request's files, in their own checkout
    check = job.step("Check the PR's models.yaml with the base's code and write the promotion plan")
    assert check.returncode == 0 and job.outputs["check"]["failed"] != "0", job.log()
    plan = (ci / "reports" / "pr" / "promotion-plan.md").read_text()
    assert "v9.9.9" in plan and "FAIL" in plan  # the pull request's pin, judged
    failed = job.step("Fail when a check failed")
    assert failed.ran and failed.returncode != 0 and not job.succeeded
    assert "Traceback" not in check.output
    fetch = job.step("Fetch the prediction logs the replay reads (MLOPS_LOGS_URL)")
    assert not fetch.ran  # no MLOPS_LOGS_URL: the replay reads nothing from elsewhere
