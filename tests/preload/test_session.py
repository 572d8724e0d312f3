"""The suite's own calls go through this worker's preload servers and print what the real
programs print: `dvc` (tests.conftest.dvc), a pipeline stage started as `python -m ...`
through PATH, as `dvc repro` starts it, and a one-worker `mlops serve` started by the commands
(mlops.core.tools.PYTHON)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlops.core import tools
from mlops.serve import launcher
from tests.conftest import deploy_version, dvc, run
from tests.preload import plugin

pytestmark = pytest.mark.integration  # the server runs for sessions with slow tests only


def test_the_suites_dvc_calls_go_through_the_server_with_the_same_output(tmp_path):
    if not plugin.enabled():  # MLOPS_TEST_PRELOAD=0: the real interpreter, as before
        assert plugin.dvc_command() == [sys.executable, "-m", "dvc"]
        return
    assert plugin.wait_ready(120)
    through = dvc(tmp_path, "status", check=False)
    real = run([sys.executable, "-m", "dvc", "status"], tmp_path, check=False)
    assert (through.returncode, through.stdout, through.stderr) == (
        real.returncode, real.stdout, real.stderr,
    )  # fmt: skip
    assert through.returncode == 253 and "not inside of a DVC repository" in through.stderr
    assert "runs dvc status" in plugin.server_log()


def test_a_stage_started_through_path_matches_a_fresh_one(tmp_path):
    shims = plugin.shims()
    assert (shims is None) == (os.environ.get("MLOPS_TEST_PRELOAD") == "0")
    if shims is not None:
        assert plugin.wait_ready(120)
    stage = ["python", "-m", "mlops.stages.validate"]
    through = subprocess.run(stage, cwd=tmp_path, capture_output=True, text=True)
    real = run([sys.executable, *stage[1:]], tmp_path, check=False)
    assert (through.returncode, through.stdout, through.stderr) == (
        real.returncode, real.stdout, real.stderr,
    )  # fmt: skip
    assert through.returncode == 2 and "contract.yaml: file not found" in through.stderr
    assert shims is None or "runs mlops.stages.validate" in plugin.server_log()


ONE = {"workers": 1, "ref": "main", "extra_args": ("--no-policy",)}


def test_a_one_worker_server_answers_as_a_fresh_one(repo, monkeypatch):
    if not plugin.enabled():
        assert sys.executable == tools.PYTHON
        return
    deploy_version(repo, "v1.0.0", ("staging",))
    assert plugin.wait_ready(120, "serve.socket")
    with launcher.start(repo, "staging", **ONE) as through:
        preloaded = through.version()
    assert "runs mlops serve --env" in plugin.server_log("serve.log")
    monkeypatch.setattr(tools, "PYTHON", sys.executable)
    with launcher.start(repo, "staging", **ONE) as real:
        fresh = real.version()
    assert preloaded["stable"]["version"] == "v1.0.0" and preloaded["sync"] == "Synced"
    assert {**preloaded, "pid": None} == {**fresh, "pid": None}, (preloaded, fresh)
