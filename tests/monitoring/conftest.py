"""Monitoring fixtures: a built repo with a registered version deployed to production, and
prediction logs in the real format written from the real model's scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops.core import paths
from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from mlops.formats import models_file, predlog
from mlops.model import model_io, registry
from tests.conftest import git, private_copy

MODEL = "churn-model"
VERSION = "v1.0.0"


def register_and_deploy(repo: Path, env: str = "production", version: str = VERSION) -> str:
    """Tag the workspace's model as ``version`` (as `mlops register` will) and pin it in
    models.yaml for ``env``; return its digest."""
    metadata = registry.workspace_metadata(repo)
    git(repo, "tag", "-a", registry.tag_name(MODEL, version), "-m", json.dumps(metadata))
    pin = models_file.Pin(version, metadata["sha256"])
    text = models_file.with_deployment(
        (repo / paths.MODELS_FILE).read_text(), env, models_file.Deployment(pin)
    )
    (repo / paths.MODELS_FILE).write_text(text)
    git(repo, "commit", "-qam", f"deploy {version} to {env}")
    return metadata["sha256"]


@pytest.fixture(autouse=True)
def serve_without_policy(monkeypatch):
    """Monitoring tests push states straight to main: their servers apply what the ref says."""
    monkeypatch.setenv("MLOPS_SERVE_POLICY", "0")


@pytest.fixture(scope="session")
def deployed_repo(built_repo, tmp_path_factory) -> Path:
    """A copy of built_repo (own remote) with churn-model@v1.0.0 serving production.
    Shared by the read-only monitoring tests."""
    repo = private_copy(built_repo.parent, tmp_path_factory.mktemp("deployed"))
    register_and_deploy(repo)
    return repo


def served(repo: Path, frame):
    """The workspace model's positive-class probabilities for ``frame`` and the answers a server
    gives with them (at the threshold the artifact carries)."""
    model = model_io.load(repo / paths.MODEL)
    proba = model.predict_proba(frame)[:, 1]
    return proba, [int(p >= model_io.threshold_of(model)) for p in proba]


def write_log(
    log_dir: Path,
    repo: Path,
    *,
    rows: int,
    seed: int,
    drift: float,
    env: str = "production",
    version: str = VERSION,
    name: str = predlog.ACTIVE,
) -> Path:
    """Score generated traffic with the repo's model and log it in the server's format."""
    frame = generate(rows, seed, drift)[list(sample_contract().features)]
    proba, answers = served(repo, frame)
    folder = predlog.env_dir(log_dir, env)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("a") as fh:
        for i, (features, p, answer) in enumerate(
            zip(frame.to_dict("records"), proba, answers, strict=True)
        ):
            features = {k: (None if v != v else v) for k, v in features.items()}  # NaN -> null
            rec = predlog.record(
                request_id=f"{seed}-{i}",
                env=env,
                model_version=version,
                route="stable",
                features=features,
                prediction=answer,
                probability=float(p),
                latency_ms=1.0,
            )
            fh.write(json.dumps(rec) + "\n")
    return path
