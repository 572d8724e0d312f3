"""The canary's live error from the real log format joined to ingested outcomes: wrong answers
per labelled request, canary and stable, over the canary's period; and why not, when it cannot."""

from __future__ import annotations

import pandas as pd

from mlops.feedback import outcomes
from mlops.formats import models_file
from mlops.monitoring import live_error
from tests.feedback.conftest import binary_traffic, write_log

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
DEPLOYMENT = models_file.Deployment(
    models_file.Pin("v1.0.0", A), models_file.Canary("v1.1.0", B, 10)
)


def _ingest(repo, tmp_path, ids, labels, env):
    path = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ids, "churn": labels}).to_csv(path, index=False)
    outcomes.ingest(repo, path, env, store=tmp_path / "o", dvc_add=False)


def test_the_live_error_of_each_route_from_outcomes(sample_repo, tmp_path):
    env, logs = "staging", tmp_path / "logs"
    assert live_error.pair(sample_repo, env, DEPLOYMENT, logs)[1].startswith("no prediction log")
    old = write_log(
        logs,
        env,
        "v1.0.0",
        "stable",
        [0] * 50,
        [0.1] * 50,
        prefix="old",
        ts="2026-11-19T12:00:00.000+00:00",
    )  # before the canary: not compared
    truth, score, pred = binary_traffic(400, 2.0, seed=1)
    stable = write_log(logs, env, "v1.0.0", "stable", pred.tolist(), score.tolist())
    wrong = 1 - truth[:100]  # the canary answers every one of its 100 requests wrongly
    canary = write_log(logs, env, "v1.1.0", "canary", wrong.tolist(), [0.5] * 100, prefix="c")
    none_yet = live_error.pair(sample_repo, env, DEPLOYMENT, logs, tmp_path / "o")
    assert none_yet == (None, f"no outcomes stored for {env} yet (`mlops outcomes ingest`)")
    _ingest(sample_repo, tmp_path, [*old, *stable, *canary],
            [1] * 50 + truth.tolist() + truth[:100].tolist(), env)  # fmt: skip
    (c, s), how = live_error.pair(sample_repo, env, DEPLOYMENT, logs, tmp_path / "o")
    assert (c.n, c.mean) == (100, 1.0)
    assert s.n == 400 and s.mean == (pred != truth).mean()
    assert how.startswith("wrong answers per labelled request")
