"""A real Git history for the registry page: the template, three registered versions (annotated
tags whose message is the metadata `mlops register` writes, with a model card), and seven
promotion pull requests merged as GitHub merges them, one of them a `git revert` (a rollback),
ending with production on v1.0.0 and a 10 % canary of v1.2.0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops.formats import models_file
from mlops.formats.models_file import Canary, Deployment, Pin
from mlops.model import card, registry
from mlops.promotion import gitops
from mlops.promotion.audit import describe
from tests.conftest import built_once, copy_template, git, use_sample

MODEL = "churn-model"
VERSIONS = {
    "v1.0.0": {"roc_auc": 0.8190, "f1": 0.5912, "accuracy": 0.7715, "log_loss": 0.4750},
    "v1.1.0": {"roc_auc": 0.8244, "f1": 0.5991, "accuracy": 0.7755, "log_loss": 0.4667},
    "v1.2.0": {"roc_auc": 0.8254, "f1": 0.5883, "accuracy": 0.7698, "log_loss": 0.4647},
}


def digest(version: str) -> str:
    return "sha256:" + version.encode().hex().ljust(64, "0")


def register(repo: Path, version: str, metrics: dict) -> None:
    """A retrain commit, then the version's annotated tag (metadata JSON with its card)."""
    (repo / "reports" / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    git(repo, "commit", "-qam", f"retrain for {version}")
    metadata = {
        "artifact": "artifacts/model.skops",
        "md5": version.encode().hex().ljust(32, "0"),
        "sha256": digest(version),
        "size_bytes": 450_000,
        "data_md5": "69ba0c02eb2405ae944eb06bb7c4b345.dir",
        "params": {"train": {"learning_rate": 0.1}},
        "metrics": metrics,
        "commit": git(repo, "rev-parse", "HEAD"),
    }
    metadata["model_card"] = card.render(repo, version=version, metadata=metadata, model=MODEL)
    git(repo, "tag", "-a", registry.tag_name(MODEL, version), "-m", json.dumps(metadata))


def merge(repo: Path, branch: str, number: int) -> None:
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", branch, "-m", f"Merge pull request #{number} from {branch}")


def promote(repo: Path, env: str, dep: Deployment, number: int) -> str:
    """The commit `mlops promote` makes (its checks need real artifacts), merged as PR #N."""
    before = models_file.load(repo / "models.yaml").deployment(env, MODEL)
    text = models_file.with_deployment((repo / "models.yaml").read_text(), env, dep, MODEL)
    subject = f"promote {env}: {describe(before)} → {describe(dep)}"
    proposal = gitops.commit_models_file(repo, f"promote/{env}-{number}", text, subject, "why")
    merge(repo, proposal.branch, number)
    return proposal.commit


def rollback(repo: Path, commit: str, number: int) -> None:
    """Roll back by revert: `git revert` of the promotion commit, as a PR."""
    git(repo, "switch", "-q", "-c", f"rollback-{number}")
    git(repo, "revert", "--no-edit", commit)
    merge(repo, f"rollback-{number}", number)


def pin(version: str) -> Pin:
    return Pin(version, digest(version))


def build_history(repo: Path) -> Path:
    copy_template(repo)
    git(repo, "init", "-q", "-b", "main")
    use_sample(repo)  # the churn model and metrics below, whatever table the workspace adopted
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Start from the template")
    for version, metrics in VERSIONS.items():
        register(repo, version, metrics)
    promote(repo, "staging", Deployment(pin("v1.0.0")), 1)
    promote(repo, "production", Deployment(pin("v1.0.0")), 2)
    promote(repo, "staging", Deployment(pin("v1.1.0")), 3)
    canary = Deployment(pin("v1.0.0"), Canary("v1.1.0", digest("v1.1.0"), 20))
    bad = promote(repo, "production", canary, 4)
    rollback(repo, bad, 5)
    promote(repo, "staging", Deployment(pin("v1.2.0")), 6)
    canary = Deployment(pin("v1.0.0"), Canary("v1.2.0", digest("v1.2.0"), 10))
    promote(repo, "production", canary, 7)
    return repo


@pytest.fixture(scope="session")
def history_base(tmp_path_factory) -> Path:
    """Built once per session (this worker's copy); copy it before changing it."""
    build = lambda base: build_history(base / "repo")  # noqa: E731
    return built_once(tmp_path_factory, "site", build) / "repo"


@pytest.fixture
def history(history_base, tmp_path) -> Path:
    """A private copy of the history repository for one test."""
    return Path(shutil.copytree(history_base, tmp_path / "repo", symlinks=True))
