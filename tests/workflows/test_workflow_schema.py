"""Every workflow validates against GitHub's workflow schema (offline, vendored)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
CHECK = str(Path(sys.executable).parent / "check-jsonschema")


def test_workflows_exist():
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "train.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_github_schema(workflow):
    proc = subprocess.run(
        [CHECK, "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_train_workflow_triggers_permissions_and_concurrency():
    wf = yaml.safe_load((ROOT / ".github/workflows/train.yml").read_text())
    on = wf[True]  # YAML 1.1 reads the key `on` as true
    assert set(on) == {"pull_request"}
    assert set(on["pull_request"]["paths"]) == {
        "data.dvc",
        "params.yaml",
        "dvc.yaml",
        "dvc.lock",
        "src/**",
    }
    # least privilege: nothing for the workflow; the job that runs the PR's code reads only,
    # the job that pushes the lock back and comments runs only the base commit's code
    assert wf["permissions"] == {}
    job = wf["jobs"]["train"]
    assert job["permissions"] == {"contents": "read"}
    publish = wf["jobs"]["publish"]
    assert publish["needs"] == "train"
    assert publish["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "pull_request.number" in wf["concurrency"]["group"]
    assert wf["concurrency"]["cancel-in-progress"] is True
    assert 0 < job["timeout-minutes"] <= 120
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    assert checkout["with"]["persist-credentials"] is False
    uses = [s["uses"].split("@")[0] for s in publish["steps"] if "uses" in s]
    assert uses == ["actions/checkout", "actions/download-artifact", "./.github/actions/setup-cml"]
    runs = "\n".join(s["run"] for s in job["steps"] if "run" in s)
    for command in ("dvc pull", "dvc repro", "dvc push", "mlops report --base", "mlops gate"):
        assert command in runs
    published = "\n".join(s["run"] for s in publish["steps"] if "run" in s)
    assert "cml comment update --target=pr --publish" in published
    assert ".github/scripts/commit-results" in published
    # the gate decides the train job's status: it is the last step, after the upload
    assert job["steps"][-1]["run"].strip().startswith("mlops gate")
    assert job["steps"][-2]["uses"].startswith("actions/upload-artifact@")
    # credentials come from secrets, never from the file, through the one DVC-remote action
    (remote,) = [s for s in job["steps"] if s.get("uses") == "./.github/actions/dvc-remote"]
    assert remote["with"]["aws-secret-access-key"] == "${{ secrets.AWS_SECRET_ACCESS_KEY }}"
    assert remote["with"]["azure-connection-string"].startswith("${{ secrets.")
    assert remote["with"]["gcp-credentials-json"].startswith("${{ secrets.")
