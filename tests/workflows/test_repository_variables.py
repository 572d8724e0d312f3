"""Repository variables are data, never commands: monitor.yml's drift job run in a sandbox with
a hostile `MLOPS_FETCH_LOGS` (the variable it used to execute) and `MLOPS_LOGS_URL` pointing at
a folder of logs: the command never runs, a warning says why, and the logs are copied."""

from __future__ import annotations

import json

import pytest

from mlops.formats import predlog
from tests.conftest import ROOT, git
from tests.workflows.workflow_harness import link_locked_env, run_job

pytestmark = pytest.mark.integration

WORKFLOW = ROOT / ".github" / "workflows" / "monitor.yml"


def test_a_variable_is_never_run_and_the_logs_url_is_read_as_data(template_clone, tmp_path):
    git(template_clone, "add", "-A")
    git(template_clone, "commit", "-qm", "the template, as cloned")
    link_locked_env(template_clone, ROOT / ".venv")
    served = tmp_path / "server-logs" / "production"
    served.mkdir(parents=True)
    record = {"ts": "2026-11-20T12:00:00.000+00:00", "request_id": "00123"}
    (served / predlog.ACTIVE).write_text(json.dumps(record) + "\n")
    pwned = tmp_path / "pwned"
    context = {
        "inputs.since || '24h'": "24h",
        "vars.MLOPS_LOG_DIR || 'logs/predictions'": "logs/predictions",
        "vars.MLOPS_FETCH_LOGS": f"touch {pwned}",
        "vars.MLOPS_LOGS_URL": str(tmp_path / "server-logs"),
        "github.token": "test-token",
    }
    drift = run_job(WORKFLOW, "drift", template_clone, context)
    assert not pwned.exists(), "a repository variable was executed as a command"
    warned = drift.step("MLOPS_FETCH_LOGS is no longer run")
    assert warned.ran and "never executed" in warned.output and str(pwned) not in warned.output
    fetch = drift.step(
        "Fetch the prediction logs (MLOPS_LOGS_URL, with the DVC remote's credentials)"
    )
    assert fetch.ran and fetch.returncode == 0, drift.log()
    copied = template_clone / "logs" / "predictions" / "production" / predlog.ACTIVE
    assert json.loads(copied.read_text()) == record
