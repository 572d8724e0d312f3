"""pages.yml: publishes `mlops site` to GitHub Pages on main and on version tags, with least
privilege and pinned actions; its `run:` steps, run by the harness on a real history, write
the page."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tests.workflows.workflow_harness import link_locked_env, run_job

WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_triggers_and_least_privilege_per_job():
    wf = _workflow()
    on = wf[True]  # YAML 1.1 reads the key `on` as true
    assert on["push"] == {"branches": ["main"], "tags": ["*@v*"]}
    assert "workflow_run" not in on and on["schedule"]  # catch-up for tags CI pushed
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read", "actions": "read"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["deploy"]["environment"]["name"] == "github-pages"
    assert wf["concurrency"]["cancel-in-progress"] is False
    assert all(0 < job["timeout-minutes"] <= 30 for job in jobs.values())


def test_every_action_is_pinned_to_a_commit_with_its_version_named():
    text = WORKFLOW.read_text()
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for ref, comment in uses:
        assert PINNED.match(ref), ref
        assert re.match(r"\s+# v\d+\.\d+\.\d+$", comment), (ref, comment)
    checkout = _workflow()["jobs"]["build"]["steps"][0]
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}


def test_no_expression_is_expanded_inside_a_script():
    for job in _workflow()["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step


def test_the_build_steps_write_the_page_from_a_real_history(history: Path):
    link_locked_env(history, ROOT / ".venv")
    context = {"github.token": "", "github.repository": "team/churn"}
    job = run_job(WORKFLOW, "build", history, context)
    assert job.succeeded, job.log()
    page = (history / "_site" / "index.html").read_text()
    assert 'id="env-production"' in page and 'id="version-v1.2.0"' in page
    assert "not reachable" in page  # the template's URLs answer nothing here; not a failure
    docs = history / "_site" / "docs"  # the documentation site beside it, reference included
    assert (docs / "index.html").is_file() and (docs / "reference" / "cli" / "index.html").is_file()
