"""monitor.yml: valid for GitHub, least privilege, and its issue step opens ONE drift issue."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

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


def test_drift_opens_one_issue_then_comments_on_it(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    gh = bindir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "reports" / "drift").mkdir(parents=True)
    (tmp_path / "reports" / "drift" / "drift.md").write_text("## Drift in production: DRIFT\n")
    env = {
        **os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "GH_STATE": str(tmp_path / "gh.json"), "RUNNER_TEMP": str(tmp_path),
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "team/churn",
        "GITHUB_RUN_ID": "7", "ENV_NAME": "production", "DRIFT_LABEL": "drift",
    }  # fmt: skip
    for _ in range(2):
        subprocess.run(["bash", "-e", "-c", _issue_step()], cwd=tmp_path, env=env, check=True)
    calls = json.loads((tmp_path / "gh.json").read_text())
    creates = [c for c in calls if c[:2] == ["issue", "create"]]
    comments = [c for c in calls if c[:2] == ["issue", "comment"]]
    assert len(creates) == 1 and "--label" in creates[0]
    assert len(comments) == 1 and comments[0][2] == "42"
    body = Path(comments[0][comments[0].index("--body-file") + 1]).read_text()
    assert "Drift in production: DRIFT" in body and "actions/runs/7" in body
