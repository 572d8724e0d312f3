"""Fixtures for the GitOps loop: a repository with a bare origin, a DVC remote and two
registered versions (v1.0.0, v1.1.0), built once per session and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import dvc, git, mlops, run


def retrain(repo: Path, max_iter: int, message: str) -> None:
    """Change a training param, reproduce, push the artifacts, commit."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    text = (repo / "params.yaml").read_text()
    text = text.replace(f"max_iter: {params['train']['max_iter']}", f"max_iter: {max_iter}")
    # the serving-latency budget is timed, not trained: few repeats keep the tests quick
    text = text.replace(
        f"latency_repeats: {params['evaluate']['latency_repeats']}", "latency_repeats: 3"
    )
    (repo / "params.yaml").write_text(text)
    dvc(repo, "repro")
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def relocate(src: Path, dest: Path) -> Path:
    """Copy a sandbox (repo, remote, origin.git) and point the copy at its own remotes."""
    shutil.copytree(src, dest, symlinks=True)
    repo = dest / "repo"
    dvc(repo, "remote", "modify", "--local", "storage", "url", str(dest / "remote"))
    git(repo, "remote", "set-url", "origin", str(dest / "origin.git"))
    return repo


@pytest.fixture(scope="session")
def registered_base(built_repo, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("registered")
    shutil.copytree(built_repo, base / "repo", symlinks=True)
    shutil.copytree(built_repo.parent / "remote", base / "remote")
    repo = base / "repo"
    dvc(repo, "remote", "modify", "--local", "storage", "url", str(base / "remote"))
    run(["git", "init", "-q", "--bare", str(base / "origin.git")], base)
    git(repo, "remote", "add", "origin", str(base / "origin.git"))
    mlops(repo, "register")
    retrain(repo, 120, "retrain: fewer boosting rounds")
    mlops(repo, "register")
    git(repo, "push", "-q", "origin", "main", "--tags")
    return base


@pytest.fixture
def promo(registered_base, tmp_path) -> Path:
    """A private repository with v1.0.0 and v1.1.0 registered and pushed to its bare origin."""
    return relocate(registered_base, tmp_path / "sandbox")
