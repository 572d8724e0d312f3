"""The monitoring loop against a real `mlops serve`: its prediction log feeds `mlops drift`,
its /metrics feed `mlops canary`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlops.core import paths
from mlops.demos import drift as demo
from mlops.demos import feedback, traffic
from mlops.formats import models_file
from mlops.monitoring import canary
from mlops.serve import launcher, routing
from tests.conftest import git, mlops, private_copy
from tests.monitoring.conftest import MODEL, VERSION

pytestmark = pytest.mark.e2e
CANARY = "v1.1.0"


@pytest.fixture
def served(deployed_repo, tmp_path) -> Path:
    """deployed_repo with a bare origin (the server follows origin/main) and a relaxed latency
    limit: this machine's p99 under parallel tests says nothing about the model."""
    repo = private_copy(deployed_repo.parent, tmp_path)
    env_file = repo / "environments" / "production.yaml"
    env = yaml.safe_load(env_file.read_text())
    env["canary"]["abort_on"]["p99_ms"] = 60_000
    env_file.write_text(yaml.safe_dump(env, sort_keys=False))
    git(repo, "commit", "-qam", "test: relaxed p99 limit")
    git(tmp_path, "clone", "-q", "--bare", str(repo), "origin.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(repo, "fetch", "-q", "origin")
    return repo


def test_drift_on_the_real_servers_log(served, tmp_path):
    logs = tmp_path / "served-logs"
    # the default two workers: both append to one log, and the row counts below must hold
    with launcher.start(served, "production", log_dir=str(logs)) as server:
        assert server.sync()["sync"] == "Synced"
        # training-like traffic first: no drift
        demo.send_traffic(server.url, demo.records(served, 1000, seed=99))
        demo.wait_for_log(logs, "production", VERSION, 1000)
        stable = mlops(served, "drift", "--env", "production", "--log-dir", str(logs),
                       "--out-dir", str(tmp_path / "stable"), "--json", check=False)  # fmt: skip
        assert stable.returncode == 0, stable.stdout + stable.stderr
        assert json.loads(stable.stdout)["current"]["rows_used"] == 1000
        # then the demo's ending: a lot of drifted traffic, and the report says so
        shown: list[str] = []
        result = demo.demo_drift(served, server.url, rows=4000, log_dir=logs,
                                 out_dir=tmp_path / "drifted", echo=shown.append)  # fmt: skip
    assert result.exit_code == 1 and result.dataset_drift
    assert result.current["rows_used"] == 5000
    assert "Drift in production: DRIFT" in shown[-2]
    assert (tmp_path / "drifted" / "drift.html").is_file()


def _request_id(n: int, canary: bool) -> str:
    """The first id ``request-<n>-<k>`` the server routes to the canary (or the stable) at 50 %."""
    ids = (f"request-{n}-{k}" for k in range(100))
    return next(rid for rid in ids if (routing.bucket(rid) < 50) == canary)


def test_canary_analysis_on_the_real_servers_metrics(served):
    git(served, "tag", "-a", f"{MODEL}@{CANARY}", "-m",
        git(served, "tag", "-l", "--format=%(contents)", f"{MODEL}@{VERSION}"))  # fmt: skip
    current = models_file.load(served / "models.yaml").deployment("production")
    with_canary = models_file.Deployment(
        current.stable, models_file.Canary(CANARY, current.stable.digest, 50)
    )
    text = models_file.with_deployment((served / "models.yaml").read_text(), "production",
                                       with_canary)  # fmt: skip
    (served / "models.yaml").write_text(text)
    git(served, "commit", "-qam", "promote production: canary v1.1.0 at 50%")
    git(served, "push", "-q", "origin", "HEAD:main")
    # the default two workers: `mlops canary` reads the counts of both from one /metrics
    with launcher.start(served, "production") as server:
        state = server.sync()
        assert state["canary"]["version"] == CANARY, state
        # every request twice, once on each route (ids chosen by the server's own split):
        # both models see the same traffic, so any shift would be the models' own
        records = demo.records(served, 300, seed=5)
        for start in range(0, len(records), 2):
            for route in (True, False):
                server.predict(records[start : start + 2], _request_id(start, canary=route))
        proc = mlops(served, "canary", "--env", "production", "--url", server.url, "--json",
                     check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    analysis = json.loads(proc.stdout)
    assert analysis["canary"]["version"] == CANARY and analysis["stable"]["version"] == VERSION
    assert analysis["canary"]["requests"] + analysis["stable"]["requests"] == 300
    assert analysis["canary"]["error_rate"] == 0
    # the same model on both routes: no shift of the predictions, no errors; 150 requests a
    # route are not yet enough to promote at production's alpha, so it keeps watching
    tests = {t["name"]: t for t in analysis["tests"]}
    shift = tests["prediction_shift"]
    assert shift["lower"] < 0 < shift["upper"] and abs(shift["difference"]) < 0.25
    assert tests["error_rate"]["difference"] == 0
    assert analysis["verdict"] == "watch", analysis["reasons"]
    assert "more requests" in tests["error_rate"]["change"]
    assert (
        min(analysis["canary"]["requests"], analysis["stable"]["requests"]) >= canary.MIN_REQUESTS
    )


def _round(server, logs, sent: traffic.Labelled, name: str, tmp_path: Path, total: int) -> str:
    """Send labelled traffic, wait for the log, write its outcome file; return when it began."""
    from datetime import UTC, datetime

    start = datetime.now(UTC).isoformat(timespec="milliseconds")
    outcomes = feedback.send(server.url, sent, name)
    demo.wait_for_log(logs, "production", VERSION, total)
    feedback.write_outcomes(outcomes, "churn", tmp_path / f"{name}.csv")
    return start


def test_outcomes_show_live_performance_falling_under_drift(served, tmp_path):
    """The demo's closing story on a real server: outcomes of ordinary traffic (holdout rows)
    pass the live bar; traffic whose features no longer mean what they did (the table's rows,
    mirrored and shifted, with their real outcomes) falls below it, and drift sees it too."""
    logs, store = tmp_path / "served-logs", tmp_path / "outcomes"
    table, contract = traffic.workspace_table(served)
    holdout = contract.read_table(served / paths.HOLDOUT)
    normal = traffic.labelled(holdout, contract, 600, seed=11)
    drifted = traffic.labelled(table, contract, 800, seed=7, drift=1.0, mirror=True)
    args = ["--env", "production", "--log-dir", str(logs), "--store", str(store)]
    figures, codes = {}, {}
    with launcher.start(served, "production", workers=1, log_dir=str(logs)) as server:
        assert server.sync()["sync"] == "Synced"
        for name, sent, total in (("normal", normal, 600), ("drifted", drifted, 1400)):
            since = _round(server, logs, sent, name, tmp_path, total)
            mlops(served, "outcomes", "ingest", str(tmp_path / f"{name}.csv"), "--env",
                  "production", "--no-dvc", "--store", str(store))  # fmt: skip
            out = tmp_path / f"perf-{name}"
            done = mlops(served, "performance", *args, "--since", since, "--out-dir", str(out),
                         check=False)  # fmt: skip
            codes[name] = done.returncode
            figures[name] = feedback.figure(out / "performance.json")
            assert f"predictions logged since {since}" in done.stdout
    before, under = figures["normal"], figures["drifted"]
    assert (codes["normal"], before.status, before.labelled) == (0, "ok", 600)
    assert (codes["drifted"], under.status, under.labelled) == (1, "below threshold", 800)
    # the bar is auto: the version's holdout roc_auc minus a quarter of its lift over 0.5
    assert before.metric == under.metric == "roc_auc" and before.trivial == 0.5
    assert before.how.startswith(f"auto: {VERSION}'s holdout roc_auc ")
    assert 0.6 < before.threshold == under.threshold < 0.8
    assert before.value >= before.threshold > under.value and before.value - under.value > 0.1
    shown = f"(bar {before.threshold:g}), trivial baseline 0.5: ok, 600 labelled rows"
    assert before.describe().endswith(shown)
    result = demo.report_drift(served, log_dir=logs, out_dir=tmp_path / "drift", echo=print)
    assert result.dataset_drift
