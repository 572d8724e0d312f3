"""retrain.yml: pinned, least privilege, and its steps open ONE retrain PR (run here with a
recording `gh` and a bare origin)."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from tests.conftest import ROOT, git, mlops
from tests.feedback.conftest import write_log

WORKFLOW = ROOT / ".github" / "workflows" / "retrain.yml"
GH = """#!/usr/bin/env bash
echo "$*" >> "$GH_STUB/calls"
case "$1 $2" in
  "pr list") cat "$GH_STUB/open" ;;
  "pr create") echo 12 > "$GH_STUB/open" ;;
esac
"""


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_triggers_permissions_pins_and_no_expressions_in_scripts():
    wf = _workflow()
    assert set(wf[True]) == {"schedule", "workflow_dispatch"}
    assert wf["permissions"] == {}
    assert wf["concurrency"] == {"group": "retrain", "cancel-in-progress": False}
    job = wf["jobs"]["refresh"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    for step in job["steps"]:
        if "uses" in step and not step["uses"].startswith("./"):
            assert re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        if "run" in step:
            assert "${{" not in step["run"], step.get("name")
    assert job["steps"][0]["with"]["persist-credentials"] is False
    text = WORKFLOW.read_text()
    assert re.search(r"@[0-9a-f]{40} # v\d", text)


def _step(name: str) -> str:
    return next(s["run"] for s in _workflow()["jobs"]["refresh"]["steps"] if s.get("name") == name)


def _run(script: str, repo: Path, env: dict) -> dict[str, str]:
    out = Path(env["GITHUB_OUTPUT"])
    out.write_text("")
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=repo, env=env, text=True, capture_output=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)


def _sandbox(repo: Path, tmp_path: Path) -> tuple[Path, dict]:
    helper = repo / ".github" / "scripts" / "with-git-token"
    if not helper.exists():  # the workflows' token wrapper: without GIT_TOKEN it runs the command
        helper.parent.mkdir(parents=True, exist_ok=True)
        helper.write_text('#!/usr/bin/env bash\nunset GIT_TOKEN\nexec "$@"\n')
        helper.chmod(0o755)
    logs = tmp_path / "logs"
    frame = generate(300, 5, 0.0)
    records = [{k: (None if v != v else v) for k, v in r.items()}
               for r in frame[list(sample_contract().features)].to_dict("records")]  # fmt: skip
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    ids = write_log(logs, "production", "v1.0.0", "stable", [0] * 300, [0.2] * 300,
                    features=records, ts=now)  # fmt: skip
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ids, "churn": frame["churn"]}).to_csv(labels, index=False)
    mlops(repo, "outcomes", "ingest", str(labels), "--env", "production")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "template, data and outcomes")
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(repo, "push", "-q", "origin", "HEAD:main")
    stub = tmp_path / "gh-stub"
    (stub / "bin").mkdir(parents=True)
    (stub / "bin" / "gh").write_text(GH)
    (stub / "bin" / "gh").chmod(0o755)
    (stub / "open").write_text("")
    env = {**os.environ, "PATH": f"{stub / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "GH_STUB": str(stub), "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"), "RUNNER_TEMP": str(tmp_path),
           "ENV_NAME": "production", "REASON": "drift", "RETRAIN_LABEL": "retrain",
           "MLOPS_LOG_DIR": str(logs)}  # fmt: skip
    return repo, env


def _job(repo: Path, env: dict) -> bool:
    """The job's steps with their `if:`s; True when it opened a PR."""
    if _run(_step("Is a retrain pull request open already?"), repo, env)["number"]:
        return False
    if _run(_step("mlops data refresh"), repo, env)["changed"] != "true":
        return False
    _run(_step("Open the retrain pull request"), repo, env)
    return True


@pytest.mark.integration  # slower than the fast tier
def test_the_job_opens_one_pr_with_the_refreshed_data(sample_copy, tmp_path):
    repo, env = _sandbox(sample_copy, tmp_path)
    before = (repo / "data.dvc").read_text()
    assert _job(repo, env) is True
    calls = (tmp_path / "gh-stub" / "calls").read_text()
    assert calls.count("pr create") == 1 and "--label retrain" in calls
    branch = git(tmp_path / "origin.git", "branch", "--list", "retrain/*").strip()
    assert branch.startswith("retrain/")
    pushed = git(tmp_path / "origin.git", "show", f"{branch}:data.dvc")
    assert pushed != before
    assert "data refreshed with labelled production traffic (drift)" in git(
        tmp_path / "origin.git", "log", "-1", "--format=%s", branch
    )
    # the next run finds the open PR and stops there
    git(repo, "switch", "-q", "main")
    assert _job(repo, env) is False
    assert (tmp_path / "gh-stub" / "calls").read_text().count("pr create") == 1
    assert "Retrain pull request #12 is open" in (tmp_path / "summary").read_text()
