"""Feedback fixtures: a template clone with the sample's contract, logs written in the server's
format and outcome files, all made here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlops.formats import predlog
from tests.conftest import built_once, git, new_clone, use_sample


def sample_build(factory: pytest.TempPathFactory) -> Path:
    """A new private copy of the template with the bundled sample's contract and 1,000 rows
    pinned in data.dvc, committed (built once per session)."""
    return built_once(factory, "feedback", _sample_repo) / "repo"


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory) -> Path:
    """``sample_build``, this worker's copy. Tests that write into it use their own environment
    names or folders."""
    return sample_build(tmp_path_factory)


@pytest.fixture
def sample_copy(tmp_path_factory) -> Path:
    """``sample_build``, this test's copy, for a test that changes it."""
    return sample_build(tmp_path_factory)


def _sample_repo(base: Path) -> None:
    repo = use_sample(new_clone(base / "repo", base / "remote"), rows=1000)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "sample")


def write_log(
    log_dir: Path,
    env: str,
    version: str,
    route: str,
    predictions: list,
    scores: list | None = None,
    *,
    prefix: str = "r",
    features: list[dict] | None = None,
    ts: str = "2026-11-20T12:00:00.000+00:00",
) -> list[str]:
    """Append one single-row request per prediction; return the request ids."""
    folder = predlog.env_dir(log_dir, env)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"{prefix}{i}" for i in range(len(predictions))]
    with (folder / predlog.ACTIVE).open("a") as fh:
        for i, pred in enumerate(predictions):
            rec = {
                "ts": ts, "request_id": ids[i], "env": env, "model_version": version,
                "route": route, "features": (features or [{}] * len(predictions))[i],
                "prediction": pred, "probability": None if scores is None else scores[i],
                "latency_ms": 1.0,
            }  # fmt: skip
            fh.write(json.dumps(rec) + "\n")
    return ids


def binary_traffic(n: int, quality: float, seed: int = 0):
    """Labels and scores whose ROC AUC grows with ``quality`` (0 = chance)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-(quality * (2 * truth - 1) + rng.normal(0, 1, n))))
    return truth, score, (score >= 0.5).astype(int)
