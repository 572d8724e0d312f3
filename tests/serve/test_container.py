"""The container's entrypoint, run with sh as the image runs it (there is no Docker engine
here): a mounted clone owned by another uid works, and the command is `mlops serve`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import ROOT, git, run


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the clone another owner")
def test_a_mounted_clone_owned_by_another_uid_is_served(tmp_path):
    clone = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(clone))
    git(clone, "commit", "-q", "--allow-empty", "-m", "mounted")
    for path in [clone, *clone.rglob("*")]:
        os.lchown(path, 4242, 4242)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "MLOPS_REPO": str(clone), "GIT_CONFIG_NOSYSTEM": "1"}
    assert "dubious ownership" in run(["git", "status"], clone, check=False, env=env).stderr
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "mlops").write_text('#!/bin/sh\necho "mlops $*"; git log -1 --format=%s\n')
    (fake / "mlops").chmod(0o755)
    env["PATH"] = f"{fake}{os.pathsep}{os.environ['PATH']}"
    entrypoint = ["sh", str(ROOT / "docker" / "entrypoint.sh")]
    out = run([*entrypoint, "--sync-interval", "5"], tmp_path, env=env)
    assert "mlops serve --env production --host 0.0.0.0 --port 8100 --sync-interval 5" in out.stdout
    assert "mounted" in out.stdout  # git works in the clone now
    assert "marking it a git safe.directory" in out.stderr
    again = run(entrypoint, tmp_path, env=env)
    assert "mounted" in again.stdout
    assert git_config_count(home) == 1  # not added twice


def git_config_count(home: Path) -> int:
    return (home / ".gitconfig").read_text().count("directory =")


def test_the_image_documents_the_remote_and_the_ownership():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "MLOPS_DVC_REMOTE" in dockerfile and "safe.directory" in dockerfile
