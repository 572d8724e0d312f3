"""monitor.yml: valid for GitHub, least privilege, green on a fresh clone, its issue step keeps
ONE alarm issue up to date, and an alarm (drift or live performance) dispatches retrain.yml."""

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
    # only the job that dispatches retrain.yml may touch Actions, and nothing else
    assert jobs["retrain"]["permissions"] == {"actions": "write"}
    assert jobs["retrain"]["needs"] == "drift"
    assert "needs.drift.outputs.alarm == 'yes'" in jobs["retrain"]["if"]
    assert "uses" not in str(jobs["retrain"]["steps"])  # no checkout: nothing to leak
    assert all(job["timeout-minutes"] <= 30 for job in jobs.values())
    runs = " ".join(s.get("run", "") for job in jobs.values() for s in job["steps"])
    assert "mlops drift --env" in runs and "mlops canary --env" in runs
    assert "mlops performance --env" in runs and "gh workflow run retrain.yml" in runs
    assert "--open-pr --pr-on rollback" in runs
    uploads = {s["with"]["name"]: s["with"]["path"] for s in jobs["drift"]["steps"]
               if "upload-artifact" in s.get("uses", "")}  # fmt: skip
    # pages.yml downloads `drift-report` into reports/drift
    assert uploads == {"drift-report": "reports/drift/",
                       "performance-report": "reports/performance/"}  # fmt: skip


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


def _step(name: str, job: str = "drift") -> str:
    return next(s["run"] for s in _workflow()["jobs"][job]["steps"] if s.get("name") == name)


def _issue_step() -> str:
    return _step("Open or update the monitoring issue")


def _fake_gh(tmp_path: Path) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    gh = bindir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "GH_STATE": str(tmp_path / "gh.json")}  # fmt: skip


@pytest.mark.parametrize(
    ("drift", "performance", "alarm", "reason", "errors"),
    [
        ("0", "0", "no", None, None),
        ("1", "0", "yes", "drift", None),
        ("0", "1", "yes", "live performance", None),
        ("1", "1", "yes", "drift and live performance", None),
        ("0", "2", "no", None, "yes"),  # could not measure: the job fails, no alarm
    ],
)
def test_verdict_raises_the_alarm_on_drift_or_live_performance(
    tmp_path, drift, performance, alarm, reason, errors
):
    out = tmp_path / "out"
    env = {**os.environ, "DRIFT_CODE": drift, "PERFORMANCE_CODE": performance,
           "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}  # fmt: skip
    subprocess.run(["bash", "-eo", "pipefail", "-c", _step("Verdict")], env=env, check=True)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert outputs.get("alarm") == alarm
    assert outputs.get("reason") == reason
    assert outputs.get("errors") == errors
    if reason:
        assert f"Alarm: {reason}; retrain.yml is dispatched." in (tmp_path / "summary").read_text()


def test_an_alarm_dispatches_retrain_yml_with_its_reason(tmp_path):
    env = {**_fake_gh(tmp_path), "REF": "main", "REASON": "live performance",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}  # fmt: skip
    step = _workflow()["jobs"]["retrain"]["steps"][0]["run"]
    subprocess.run(["bash", "-eo", "pipefail", "-c", step], env=env, check=True)
    calls = json.loads((tmp_path / "gh.json").read_text())
    assert calls == [["workflow", "run", "retrain.yml", "--ref", "main", "-f",
                      "reason=live performance"]]  # fmt: skip
    assert "Dispatched retrain.yml on main" in (tmp_path / "summary").read_text()


def test_an_alarm_opens_one_issue_then_updates_it(tmp_path):
    (tmp_path / "reports" / "drift").mkdir(parents=True)
    (tmp_path / "reports" / "performance").mkdir(parents=True)
    env = {
        **_fake_gh(tmp_path), "RUNNER_TEMP": str(tmp_path),
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "team/churn",
        "ENV_NAME": "production", "ALARM_LABEL": "monitoring",
    }  # fmt: skip
    bodies = []
    for run_id, share, reason in (("7", "0.4", "drift"),
                                  ("8", "0.6", "drift and live performance")):  # fmt: skip
        report = f"## Drift in production: DRIFT (share {share})\n"
        (tmp_path / "reports" / "drift" / "drift.md").write_text(report)
        if run_id == "8":
            (tmp_path / "reports" / "performance" / "performance.md").write_text(
                "## Live performance in production: ❌ below threshold\n"
            )
        run = {**env, "GITHUB_RUN_ID": run_id, "REASON": reason}
        subprocess.run(["bash", "-e", "-c", _issue_step()], cwd=tmp_path, env=run, check=True)
        bodies.append((tmp_path / "monitoring-issue.md").read_text())
    calls = json.loads((tmp_path / "gh.json").read_text())
    creates = [c for c in calls if c[:2] == ["issue", "create"]]
    edits = [c for c in calls if c[:2] == ["issue", "edit"]]
    assert len(creates) == 1 and creates[0][creates[0].index("--label") + 1] == "monitoring"
    assert "Monitoring alarm in production: drift" in creates[0]
    assert [c for c in calls if c[:2] == ["issue", "comment"]] == []  # no comment per hour
    assert len(edits) == 1 and edits[0][2] == "42" and "--body-file" in edits[0]
    assert "Monitoring alarm in production: drift and live performance" in edits[0]
    assert "share 0.4" in bodies[0] and "actions/runs/7" in bodies[0]
    assert "Live performance" not in bodies[0]
    # the latest reports, both of them
    assert "share 0.6" in bodies[1] and "actions/runs/8" in bodies[1]
    assert "**Alarm: drift and live performance.**" in bodies[1]
    assert "Live performance in production: ❌ below threshold" in bodies[1]


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
    # live performance: no log, no outcomes -> a state, not a failure
    assert "## Live performance in production: ⏳ not enough outcomes yet" in drift.summary
    assert "Nothing logged in this window yet: no verdict." in drift.summary
    assert "Alarm" not in drift.summary
    assert not drift.step("Open or update the monitoring issue").ran
    assert not drift.step("Fail when a check could not run (exit 2 above)").ran
    fetch = "Fetch the prediction logs (MLOPS_LOGS_URL, with the DVC remote's credentials)"
    assert not drift.step(fetch).ran  # MLOPS_LOGS_URL unset
    assert not drift.step("MLOPS_FETCH_LOGS is no longer run").ran

    canary = run_job(WORKFLOW, "canary", template_clone, context)
    assert canary.succeeded, canary.log()
    assert "No canary in production" in canary.summary
    assert not canary.step(
        "mlops canary (exit 0 promote or hold, 1 rollback proposed, 2 could not analyse)"
    ).ran
