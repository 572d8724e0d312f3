"""Fixtures for the server: a repository with registered versions and a bare ``origin``.

Built once per session from ``built_repo``: v1.0.0 (the built model; the workspace keeps its
evaluate outputs, artifacts/predictions.csv), v1.1.0 (retrained with another learning rate),
and two versions that must never go live:
v1.2.0 (its tag records a wrong sha256) and v1.3.0 (its artifact is not in the DVC remote).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlops.formats import models_file
from mlops.formats.models_file import Canary, Deployment, Pin
from mlops.model import registry
from tests.conftest import built_once, dvc, git, private_copy

MODEL = "churn-model"
GOOD = ("v1.0.0", "v1.1.0")
BAD_DIGEST, MISSING_ARTIFACT = "v1.2.0", "v1.3.0"


def tag_version(repo: Path, version: str, metadata: dict | None = None) -> None:
    """Register the workspace's model as ``version`` (what `mlops register` does)."""
    message = json.dumps(metadata or registry.workspace_metadata(repo), sort_keys=True)
    git(repo, "tag", "-a", registry.tag_name(MODEL, version), "-m", message)


def digest(repo: Path, version: str) -> str:
    return registry.get_version(repo, MODEL, version).digest


def deploy(
    repo: Path,
    env: str,
    version: str | None,
    canary: str | None = None,
    traffic: int = 10,
    pin: str | None = None,
) -> str:
    """Commit models.yaml with ``env`` at ``version`` (None: nothing), push it; the commit sha."""
    path = repo / "models.yaml"
    deployment = None
    if version:
        deployment = Deployment(
            Pin(version, pin or digest(repo, version)),
            Canary(canary, digest(repo, canary), traffic) if canary else None,
        )
    path.write_text(models_file.with_deployment(path.read_text(), env, deployment))
    git(repo, "commit", "-qm", f"deploy {env}: {version} canary {canary}", "--", "models.yaml")
    git(repo, "push", "-q", "origin", "HEAD:main")
    return git(repo, "rev-parse", "HEAD")


def _retrain(repo: Path) -> None:
    """A second, different model; only `train` re-runs (evaluate's outputs stay v1.0.0's)."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["hist_gradient_boosting"]["learning_rate"] = 0.15
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(repo, "repro", "train")
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "retrain: learning_rate 0.15")


def _unfetchable_version(repo: Path) -> None:
    """A commit whose dvc.lock points at a model the remote never received."""
    meta = registry.workspace_metadata(repo)
    tag_version(repo, BAD_DIGEST, {**meta, "sha256": "sha256:" + "0" * 64})
    lock = (repo / "dvc.lock").read_text()
    (repo / "dvc.lock").write_text(lock.replace(meta["md5"], "f" * 32))
    git(repo, "commit", "-qam", "a model that was never pushed")
    tag_version(repo, MISSING_ARTIFACT, {**meta, "sha256": "sha256:" + "1" * 64})
    git(repo, "reset", "-q", "--hard", "HEAD~1")


@pytest.fixture(autouse=True)
def serve_without_policy(monkeypatch):
    """These tests exercise serving on states pushed straight to main, so their servers apply
    whatever the ref says (`--no-policy`); the policy a server applies before a new state is
    tested with real promotions in tests/promotion/test_integrity_servers.py."""
    monkeypatch.setenv("MLOPS_SERVE_POLICY", "0")


def build_versions(base: Path, built: Path) -> None:
    """``base``: repo/, remote/ and origin.git with the versions above, from ``built``."""
    repo = private_copy(built, base)
    tag_version(repo, GOOD[0])
    _retrain(repo)
    tag_version(repo, GOOD[1])
    _unfetchable_version(repo)
    git(base, "clone", "-q", "--bare", str(repo), "origin.git")
    git(repo, "remote", "add", "origin", str(base / "origin.git"))
    git(repo, "fetch", "-q", "origin")
    git(repo, "branch", "-q", "--set-upstream-to=origin/main")


@pytest.fixture(scope="session")
def versions_repo(built_repo, tmp_path_factory) -> Path:
    """Built once per session (this worker's copy); copy it before changing it."""
    build = lambda base: build_versions(base, built_repo.parent)  # noqa: E731
    return built_once(tmp_path_factory, "served", build) / "repo"


@pytest.fixture
def served_repo(versions_repo, tmp_path) -> Path:
    """A private copy of ``versions_repo`` with its own DVC remote and bare origin."""
    return private_copy(versions_repo.parent, tmp_path)


@pytest.fixture(scope="session")
def canary_server(versions_repo, tmp_path_factory):
    """One `mlops serve` with a canary for the tests that only read from it
    (``tests.serve.servers.canary``; mark them ``xdist_group(servers.CANARY_GROUP)``)."""
    from tests.serve import servers

    with servers.canary(versions_repo, tmp_path_factory.mktemp("canary-server")) as shared:
        yield shared


@pytest.fixture(scope="session")
def pinned_server(versions_repo, tmp_path_factory):
    """One `mlops serve-pinned` for the tests that only read from it
    (``tests.serve.servers.pinned``; mark them ``xdist_group(servers.PINNED_GROUP)``)."""
    from tests.serve import servers

    with servers.pinned(versions_repo, tmp_path_factory.mktemp("pinned-server")) as shared:
        yield shared
