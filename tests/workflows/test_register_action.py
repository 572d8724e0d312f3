"""The register action (.github/actions/register) that register.yml and deploy.yml both run,
with no shared concurrency group: when another run pushes the version tag first, this run finds
the model registered (`mlops register` compares with origin's tags before tagging) and leaves no
stray tag; the action's retry stays for a push lost between that fetch and the push."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, git
from tests.workflows.workflow_harness import run_action

pytestmark = pytest.mark.integration

ACTION = "./.github/actions/register"

# `mlops` for the run under test. On its first call, before running, another run (a clone of
# its own) registers the same model and pushes the tag: the race the retry is for.
RACING_MLOPS = """#!/bin/sh
if [ ! -e "{flag}" ]; then
  touch "{flag}"
  (cd "{other}" && "{python}" -m mlops register --push) >&2 || exit 99
fi
exec "{python}" -m mlops "$@"
"""


def _racing(repo: Path, tmp_path: Path) -> tuple[Path, Path, dict]:
    """origin (bare) <- repo (the run under test) and other (the run that wins)."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(origin))
    other = tmp_path / "other"
    shutil.copytree(repo, other, symlinks=True)
    for clone in (repo, other):
        git(clone, "remote", "add", "origin", str(origin))
    shutil.copytree(ROOT / ".github", repo / ".github", dirs_exist_ok=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    mlops = bindir / "mlops"
    mlops.write_text(
        RACING_MLOPS.format(flag=tmp_path / "raced", other=other, python=sys.executable)
    )
    mlops.chmod(0o755)
    path = os.pathsep.join([str(bindir), str(Path(sys.executable).parent), os.environ["PATH"]])
    return origin, other, {"PATH": path}


def test_a_tag_pushed_first_by_another_run_means_nothing_to_register(repo, tmp_path):
    origin, other, env = _racing(repo, tmp_path)
    job = run_action(ACTION, {"attempts": "3"}, repo, {"github.token": ""}, env)
    assert job.succeeded, job.log()
    (step,) = job.steps
    assert "already holds this model" in step.output and "nothing to register" in step.output
    # one version, the one the other run pushed; the local tag is origin's, not a stray one
    tags = git(origin, "tag", "-l").split()
    assert len(tags) == 1
    assert git(repo, "rev-parse", f"refs/tags/{tags[0]}") == git(
        origin, "rev-parse", f"refs/tags/{tags[0]}"
    )
    assert git(other, "rev-parse", f"refs/tags/{tags[0]}") == git(
        origin, "rev-parse", f"refs/tags/{tags[0]}"
    )
