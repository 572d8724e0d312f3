"""The one DVC-remote setup every job uses (.github/actions/dvc-remote), run as GitHub runs a
composite action: each supported remote gets its URL and credentials in DVC's local config,
nothing in the job's environment, and a missing secret is named."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, built_once, dvc, git
from tests.workflows.workflow_harness import run_action

pytestmark = pytest.mark.integration

ACTION = "./.github/actions/dvc-remote"
SECRET = "s3cr3t-value-never-printed"


def _checked_out(base: Path) -> None:
    repo = base / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "storage", "../.dvc-storage")
    shutil.copytree(ROOT / ".github" / "actions", repo / ".github" / "actions")


@pytest.fixture
def clone(tmp_path_factory) -> Path:
    """A repository with DVC's local default remote, and our actions, as after checkout: built
    once per session, this test's own copy."""
    return built_once(tmp_path_factory, "dvc-remote-clone", _checked_out) / "repo"


def _run(clone: Path, **inputs: str):
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    job = run_action(ACTION, {k.replace("_", "-"): v for k, v in inputs.items()}, clone, env=env)
    assert job.succeeded, job.log()
    (step,) = job.steps
    assert SECRET not in step.output
    config = dvc(clone, "config", "--list", "--local").stdout.splitlines()
    env_file = (clone.parent / f"runner-{clone.name}" / "env").read_text()
    assert env_file == "", "credentials must not reach the job's environment"
    return step.output, dict(line.split("=", 1) for line in config)


def test_no_url_keeps_the_local_default(clone):
    output, config = _run(clone)
    assert "the local default" in output and config == {}


def test_s3_gets_keys_region_and_endpoint(clone):
    output, config = _run(
        clone,
        url="s3://bucket/dvc",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key=SECRET,
        aws_region="eu-west-1",
        aws_endpoint_url="http://127.0.0.1:9000",
    )
    assert config == {
        "remote.storage.url": "s3://bucket/dvc",
        "remote.storage.access_key_id": "AKIAEXAMPLE",
        "remote.storage.secret_access_key": SECRET,
        "remote.storage.region": "eu-west-1",
        "remote.storage.endpointurl": "http://127.0.0.1:9000",
    }
    assert "DVC remote: s3://bucket/dvc" in output and "::warning::" not in output


def test_gcs_gets_a_private_key_file_outside_the_workspace(clone):
    key_json = json.dumps({"private_key": SECRET})
    _, config = _run(clone, url="gs://bucket/dvc", gcp_credentials_json=key_json)
    key = Path(config.pop("remote.storage.credentialpath"))
    assert config == {"remote.storage.url": "gs://bucket/dvc"}
    assert key.read_text() == key_json
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not key.is_relative_to(clone)


def test_azure_gets_its_connection_string_and_no_aws_keys(clone):
    _, config = _run(
        clone, url="azure://container/dvc", azure_connection_string=SECRET, aws_access_key_id="x"
    )
    assert config == {
        "remote.storage.url": "azure://container/dvc",
        "remote.storage.connection_string": SECRET,
    }


def test_a_missing_secret_is_named_not_fatal(clone):
    # the runner may have its own credentials (an OIDC role); a fork's PR gets no secrets
    output, config = _run(clone, url="s3://bucket/dvc")
    assert "::warning::the secret AWS_ACCESS_KEY_ID is not set for s3://bucket/dvc" in output
    assert config == {"remote.storage.url": "s3://bucket/dvc"}


def test_logs_url_becomes_the_logs_remote_with_the_same_credentials(clone):
    _, config = _run(
        clone,
        url="s3://bucket/dvc",
        logs_url="s3://bucket/prediction-logs",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key=SECRET,
    )
    assert config["remote.logs.url"] == "s3://bucket/prediction-logs"
    assert config["remote.logs.access_key_id"] == "AKIAEXAMPLE"
    assert config["remote.logs.secret_access_key"] == SECRET
    assert config["remote.storage.url"] == "s3://bucket/dvc"


def test_the_logs_are_copied_as_data_by_the_workflow_step(clone, tmp_path):
    # what monitor.yml and retrain.yml run: the variable is an argument, never a command
    logs = tmp_path / "server-logs"
    (logs / "production").mkdir(parents=True)
    (logs / "production" / "predictions.jsonl").write_text('{"request_id": "00123"}\n')
    _, config = _run(clone, logs_url=str(logs))
    assert config == {"remote.logs.url": str(logs)}
    dvc(clone, "get-url", "--force", "remote://logs/", "logs/predictions")
    copied = clone / "logs" / "predictions" / "production" / "predictions.jsonl"
    assert copied.read_text() == '{"request_id": "00123"}\n'


def test_a_url_that_looks_like_an_option_is_refused(clone):
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    job = run_action(ACTION, {"logs-url": "--help"}, clone, env=env)
    assert not job.succeeded
    assert "a remote URL cannot start with '-'" in job.steps[0].output
