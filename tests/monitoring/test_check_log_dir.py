"""`mlops check --log-dir --store`: the replay reads the prediction log and the outcome store
where they are (a server's clone, a synced folder), not only the default folders."""

from __future__ import annotations

import pandas as pd

from mlops.core import paths
from mlops.feedback import outcomes
from mlops.formats import models_file
from mlops.model import registry
from tests.conftest import mlops
from tests.monitoring.conftest import MODEL, VERSION, write_log
from tests.monitoring.test_replay import CANDIDATE, candidate_repo  # noqa: F401  (the fixture)


def _production_text(repo) -> str:
    """models.yaml with production on the candidate (the same artifact, tagged v1.1.0)."""
    version = registry.get_version(repo, MODEL, CANDIDATE)
    current = models_file.load(repo / paths.MODELS_FILE).deployment("production")
    pin = models_file.Pin(CANDIDATE, version.digest)
    text = (repo / paths.MODELS_FILE).read_text()
    return models_file.with_deployment(
        text, "production", models_file.Deployment(pin, current.canary)
    )


def test_check_replays_on_the_log_and_outcomes_it_is_pointed_at(candidate_repo, tmp_path):  # noqa: F811
    repo = candidate_repo
    logs, store = tmp_path / "server" / "logs", tmp_path / "labels"
    write_log(logs, repo, rows=800, seed=4, drift=0.0)
    labels = pd.DataFrame({"request_id": [f"4-{i}" for i in range(300)], "row": 0,
                           "churn": [i % 2 for i in range(300)]})  # fmt: skip
    labels.to_csv(tmp_path / "labels.csv", index=False)
    outcomes.ingest(repo, tmp_path / "labels.csv", "production", store=store, dvc_add=False)
    (repo / paths.MODELS_FILE).write_text(_production_text(repo))

    default = mlops(repo, "check", "--base", "HEAD", check=False).stdout
    assert "no prediction log in logs/predictions/production" in default

    out = mlops(repo, "check", "--base", "HEAD", "--log-dir", str(logs), "--store", str(store),
                check=False).stdout  # fmt: skip
    assert f"#### Replay of {CANDIDATE} on production's traffic" in out
    assert f"800 requests answered by {VERSION} replayed" in out
    assert "agrees with the live answer on **100.0%**" in out  # the same artifact
    assert "On the same 300 labelled requests" in out
    assert "no prediction log" not in out
