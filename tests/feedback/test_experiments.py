"""`dvc exp run` / `dvc exp show` work with the pipeline as it is: try variants before a PR."""

from __future__ import annotations

import json

import pytest

from tests.conftest import dvc, git

pytestmark = pytest.mark.integration  # runs the pipeline or DVC: not the fast tier


def _experiments(shown: list) -> dict[str, dict]:
    """name -> {params, metrics} of every experiment in `dvc exp show --json`."""
    out = {}
    for commit in shown:
        for exp in commit.get("experiments") or []:
            rev = exp["revs"][0]
            data = rev["data"]
            out[rev.get("name") or exp.get("name")] = {
                "params": data["params"]["params.yaml"]["data"],
                "metrics": data["metrics"]["reports/metrics.json"]["data"],
            }
    return out


def test_exp_run_and_show(repo):
    """From the session's reproduced repository (a private copy): the experiment re-runs what
    its params change reaches."""
    head = git(repo, "rev-parse", "HEAD")
    dvc(repo, "exp", "run", "-n", "slow-lr",
        "-S", "train.hist_gradient_boosting.learning_rate=0.03",
        "-S", "evaluate.latency_repeats=3")  # fmt: skip
    shown = json.loads(dvc(repo, "exp", "show", "--json").stdout)
    exps = _experiments(shown)
    assert "slow-lr" in exps, exps
    exp = exps["slow-lr"]
    assert exp["params"]["train"]["hist_gradient_boosting"]["learning_rate"] == 0.03
    assert 0.5 < exp["metrics"]["roc_auc"] <= 1.0
    # the experiment is a Git ref, not a commit on the branch
    assert git(repo, "rev-parse", "HEAD") == head
    assert "slow-lr" in dvc(repo, "exp", "list", "--name-only").stdout
