"""monitor.yml: valid for GitHub, least privilege, green on a fresh clone, and its issue step
keeps ONE drift issue up to date."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, git
from tests.workflows.workflow_harness import link_locked_env, run_job

WORKFLOW = ROOT / ".github" / "workflows" / "monitor.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_validates_against_githubs_workflow_schema():
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_runs_on_a_schedule_and_on_demand_with_least_privilege():
    flow = _workflow()
    triggers = flow[True]  # YAML 1.1 reads the key `on` as True
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    assert flow["permissions"] == {}
    assert flow["concurrency"]["group"] == "monitor-production"
    jobs = flow["jobs"]
    assert jobs["drift"]["permissions"] == {"contents": "read", "issues": "write"}
    assert jobs["canary"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert all(job["timeout-minutes"] <= 30 for job in jobs.values())
    runs = " ".join(s.get("run", "") for job in jobs.values() for s in job["steps"])
    assert "mlops drift --env" in runs and "mlops canary --env" in runs
    assert "--open-pr --pr-on rollback" in runs


FAKE_GH = """#!/usr/bin/env python3
import json, os, sys
state = os.environ["GH_STATE"]
calls = json.load(open(state)) if os.path.exists(state) else []
calls.append(sys.argv[1:])
json.dump(calls, open(state, "w"))
args = sys.argv[1:]
if args[:2] == ["issue", "list"]:
    created = [c for c in calls if c[:2] == ["issue", "create"]]
    print("42" if created else "")
"""


def _issue_step() -> str:
    steps = _workflow()["jobs"]["drift"]["steps"]
    return next(s["run"] for s in steps if s.get("name") == "Open or update the drift issue")


def test_drift_opens_one_issue_then_updates_it(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    gh = bindir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "reports" / "drift").mkdir(parents=True)
    env = {
        **os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "GH_STATE": str(tmp_path / "gh.json"), "RUNNER_TEMP": str(tmp_path),
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "team/churn",
        "ENV_NAME": "production", "DRIFT_LABEL": "drift",
    }  # fmt: skip
    bodies = []
    for run_id, share in (("7", "0.4"), ("8", "0.6")):
        report = f"## Drift in production: DRIFT (share {share})\n"
        (tmp_path / "reports" / "drift" / "drift.md").write_text(report)
        run = {**env, "GITHUB_RUN_ID": run_id}
        subprocess.run(["bash", "-e", "-c", _issue_step()], cwd=tmp_path, env=run, check=True)
        bodies.append((tmp_path / "drift-issue.md").read_text())
    calls = json.loads((tmp_path / "gh.json").read_text())
    creates = [c for c in calls if c[:2] == ["issue", "create"]]
    edits = [c for c in calls if c[:2] == ["issue", "edit"]]
    assert len(creates) == 1 and "--label" in creates[0]
    assert [c for c in calls if c[:2] == ["issue", "comment"]] == []  # no comment per hour
    assert len(edits) == 1 and edits[0][2] == "42" and "--body-file" in edits[0]
    assert "share 0.4" in bodies[0] and "actions/runs/7" in bodies[0]
    assert "share 0.6" in bodies[1] and "actions/runs/8" in bodies[1]  # the latest report


@pytest.mark.integration
def test_both_jobs_succeed_and_say_so_on_a_fresh_clone(template_clone):
    """Day one: nothing deployed, nothing logged. The hourly run is green and says why."""
    git(template_clone, "add", "-A")
    git(template_clone, "commit", "-qm", "the template, as cloned")
    link_locked_env(template_clone, ROOT / ".venv")
    context = {
        "inputs.since || '24h'": "24h",
        "vars.MLOPS_LOG_DIR || 'logs/predictions'": "logs/predictions",
        "github.token": "test-token",
        "secrets.MLOPS_BOT_TOKEN || github.token": "test-token",
    }
    drift = run_job(WORKFLOW, "drift", template_clone, context)
    assert drift.succeeded, drift.log()
    assert "## Drift in production: nothing to compare yet" in drift.summary
    assert "nothing is deployed to 'production'" in drift.summary
    assert not drift.step("Open or update the drift issue").ran
    assert not drift.step("Fetch the prediction logs").ran  # MLOPS_FETCH_LOGS unset

    canary = run_job(WORKFLOW, "canary", template_clone, context)
    assert canary.succeeded, canary.log()
    assert "No canary in production" in canary.summary
    assert not canary.step(
        "mlops canary (exit 0 promote or hold, 1 rollback proposed, 2 could not analyse)"
    ).ran
