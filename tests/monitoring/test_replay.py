"""Replay in the promotion plan: the candidate scores the environment's logged requests (real
log format, real model, real DVC fetch of its artifact and train split), agreement and shifts per
segment, and on labelled requests both models' live metrics, leaving out rows it trained on."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from mlops.core import paths
from mlops.feedback import outcomes
from mlops.formats import predlog
from mlops.model import registry
from mlops.promotion import replay
from tests.conftest import git, point_dvc_remote
from tests.monitoring.conftest import MODEL, VERSION, served, write_log

CANDIDATE = "v1.1.0"


@pytest.fixture
def candidate_repo(deployed_repo, tmp_path):
    """deployed_repo (v1.0.0 live in production) with the same artifact tagged v1.1.0."""
    repo = tmp_path / "repo"
    shutil.copytree(deployed_repo, repo, symlinks=True)
    shutil.copytree(deployed_repo.parent / "remote", tmp_path / "remote")
    point_dvc_remote(repo, tmp_path / "remote")
    message = git(repo, "tag", "-l", "--format=%(contents)", f"{MODEL}@{VERSION}")
    git(repo, "tag", "-a", f"{MODEL}@{CANDIDATE}", "-m", message)
    return repo


def _log_training_rows(repo, log_dir, n: int) -> pd.DataFrame:
    """``n`` rows of the train split served by v1.0.0 (a client sending rows the model saw)."""
    train = pd.read_csv(repo / paths.TRAIN).head(n)
    features = train.drop(columns=["churn"])
    proba, answers = served(repo, features)
    with (predlog.env_dir(log_dir, "production") / predlog.ACTIVE).open("a") as fh:
        rows = zip(features.to_dict("records"), proba, answers, strict=True)
        for i, (rec, p, answer) in enumerate(rows):
            rec = {k: (None if v != v else v) for k, v in rec.items()}
            fh.write(json.dumps(predlog.record(
                request_id=f"train-{i}", env="production", model_version=VERSION,
                route="stable", features=rec, prediction=answer, probability=float(p),
                latency_ms=1.0,
            )) + "\n")  # fmt: skip
    return train


def test_the_candidate_is_replayed_on_logged_traffic_with_outcomes(candidate_repo, tmp_path):
    repo = candidate_repo
    logs, store = tmp_path / "logs", tmp_path / "outcomes"
    write_log(logs, repo, rows=1500, seed=4, drift=0.0)
    train = _log_training_rows(repo, logs, 40)
    ids = [f"4-{i}" for i in range(600)] + [f"train-{i}" for i in range(40)]
    churn = [i % 2 for i in range(600)] + train["churn"].tolist()
    labels = pd.DataFrame({"request_id": ids, "row": 0, "churn": churn})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    outcomes.ingest(repo, tmp_path / "labels.csv", "production", store=store, dvc_add=False)

    version = registry.get_version(repo, MODEL, CANDIDATE)
    found = replay.replay(repo, "production", version, VERSION, log_dir=logs, store=store)
    assert found.requests == 1540 and found.agreement == 1.0  # the same artifact
    assert set(found.shifts) == {"p5", "p25", "p50", "p75", "p95"}
    assert all(abs(v) < 1e-5 for v in found.shifts.values())
    assert {s["segment"] for s in found.segments} == {"north", "south", "east", "west"}
    assert sum(s["requests"] for s in found.segments) == 1540
    assert found.outcomes["excluded"] == 40 and found.outcomes["labelled"] == 600
    live, cand = found.outcomes["metrics"]["live"], found.outcomes["metrics"]["candidate"]
    assert live["roc_auc"]["value"] == pytest.approx(cand["roc_auc"]["value"], abs=1e-5)
    assert live["roc_auc"]["low"] < live["roc_auc"]["value"] < live["roc_auc"]["high"]
    shown = "\n".join(replay.markdown(found))
    assert "agrees with the live answer on **100.0%**" in shown
    assert "On the same 600 labelled requests (40 the candidate trained on left out)" in shown
    assert "| roc_auc |" in shown and "| north |" in shown


def test_without_a_log_the_plan_says_so_and_falls_back(candidate_repo, tmp_path):
    repo = candidate_repo
    version = registry.get_version(repo, MODEL, CANDIDATE)
    found = replay.replay(repo, "production", version, VERSION, log_dir=tmp_path / "none")
    assert found.agreement is None and "no prediction log in" in found.notes[0]
    assert "the holdout comparison above is the evidence" in "\n".join(replay.markdown(found))


def test_without_outcomes_the_training_rows_are_not_fetched(candidate_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # an empty artifact cache
    write_log(tmp_path / "logs", candidate_repo, rows=300, seed=4, drift=0.0)
    version = registry.get_version(candidate_repo, MODEL, CANDIDATE)
    found = replay.replay(candidate_repo, "production", version, VERSION,
                          log_dir=tmp_path / "logs", store=tmp_path / "none")  # fmt: skip
    assert found.requests == 300 and found.agreement == 1.0
    assert found.notes == ["no outcomes stored for production: live metrics not compared"]
    assert found.outcomes is None
    assert (tmp_path / "cache" / "mlops" / "artifacts").is_dir()  # the model came through it
    assert not (tmp_path / "cache" / "mlops" / "artifacts" / "train").exists()
