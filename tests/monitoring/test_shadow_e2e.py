"""A shadow version on a real `mlops serve`: declared in models.yaml, it scores every request off
the answer's path, never answers, is logged beside the answer under the same request id, shows in
/metrics under route shadow, and `mlops performance` reports it beside the stable."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from mlops.core import paths
from mlops.demos import drift as demo
from mlops.demos import feedback, traffic
from mlops.formats import models_file, predlog
from mlops.serve import launcher
from tests.conftest import git, mlops
from tests.monitoring.conftest import MODEL, VERSION
from tests.monitoring.test_e2e import served  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e
SHADOW = "v1.1.0"


def _declare_shadow(repo, traffic_pct: int) -> None:
    """Tag the same artifact as v1.1.0 and pin it as production's shadow, pushed to origin."""
    message = git(repo, "tag", "-l", "--format=%(contents)", f"{MODEL}@{VERSION}")
    git(repo, "tag", "-a", f"{MODEL}@{SHADOW}", "-m", message)
    current = models_file.load(repo / paths.MODELS_FILE).deployment("production")
    shadow = models_file.Shadow(SHADOW, current.stable.digest, traffic_pct)
    text = models_file.with_deployment(
        (repo / paths.MODELS_FILE).read_text(), "production",
        models_file.Deployment(current.stable, None, shadow),
    )  # fmt: skip
    assert "shadow:" in text and models_file.parse(text).deployment("production").shadow == shadow
    (repo / paths.MODELS_FILE).write_text(text)
    git(repo, "commit", "-qam", f"production: shadow {SHADOW} on {traffic_pct}%")
    git(repo, "push", "-q", "origin", "HEAD:main", "--tags")


def _shadowed_records(logs, at_least: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in predlog.read(logs, "production") if "shadow" in r]
        if len(found) >= at_least:
            return found
        time.sleep(0.2)
    raise AssertionError(f"only {len(found)} records with a shadow output after {timeout}s")


def test_a_shadow_scores_off_the_answers_path_and_is_reported(served, tmp_path):  # noqa: F811
    _declare_shadow(served, 100)
    logs, store = tmp_path / "logs", tmp_path / "outcomes"
    _, contract = traffic.workspace_table(served)
    holdout = contract.read_table(served / paths.HOLDOUT)
    sent = traffic.labelled(holdout, contract, 400, seed=3)
    with launcher.start(served, "production", workers=1, log_dir=str(logs)) as server:
        state = server.sync()
        assert state["shadow"] == {"version": SHADOW, "digest": state["stable"]["digest"],
                                   "traffic": 100}, state  # fmt: skip
        answer = server.predict(sent.records[:2], request_id="probe-1")
        assert answer["model_version"] == VERSION and answer["route"] == "stable"
        outcomes = feedback.send(server.url, sent, "shadowed")
        demo.wait_for_log(logs, "production", VERSION, 402)
        logged = _shadowed_records(logs, 402)
        scraped = httpx.get(f"{server.url}/metrics").text
    assert {r["model_version"] for r in logged} == {VERSION}  # the shadow never answered
    assert {r["route"] for r in logged} == {"stable"}
    probe = [r for r in logged if r["request_id"] == "probe-1"]
    assert len(probe) == 2 and all(r["shadow"]["model_version"] == SHADOW for r in probe)
    # the same artifact: the shadow's output equals the answer, row by row
    assert all(r["shadow"]["probability"] == r["probability"] for r in logged)
    assert all(r["shadow"]["prediction"] == r["prediction"] for r in logged)
    assert f'route="shadow",version="{SHADOW}"' in scraped

    feedback.write_outcomes(outcomes, contract.target, tmp_path / "outcomes.csv")
    mlops(served, "outcomes", "ingest", str(tmp_path / "outcomes.csv"), "--env", "production",
          "--no-dvc", "--store", str(store))  # fmt: skip
    out = tmp_path / "perf"
    mlops(served, "performance", "--env", "production", "--log-dir", str(logs), "--store",
          str(store), "--out-dir", str(out), check=False)  # fmt: skip
    result = json.loads((out / "performance.json").read_text())
    groups = {(g["version"], g["route"]): g for g in result["groups"]}
    stable, shadow = groups[(VERSION, "stable")], groups[(SHADOW, "shadow")]
    assert shadow["labelled"] == stable["labelled"] == 400
    assert shadow["metrics"]["roc_auc"]["value"] == stable["metrics"]["roc_auc"]["value"]
    assert not shadow["deployed"]  # shown, never judged: it answered nobody
    assert "shadow: what it would have answered" in (out / "performance.md").read_text()

    # drift: the shadow beside the stable, on the very requests it scored
    proc = mlops(served, "drift", "--env", "production", "--log-dir", str(logs), "--out-dir",
                 str(tmp_path / "drift"), "--json", check=False)  # fmt: skip
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    routes = {r["route"]: r for r in json.loads(proc.stdout)["routes"]}
    assert set(routes) == {"stable", "shadow"} and routes["shadow"]["version"] == SHADOW
    assert routes["shadow"]["rows"] == routes["stable"]["rows"] == 402
    assert routes["shadow"]["agreement"] == 1.0 and routes["shadow"]["mean_shift"] == 0.0
    assert routes["shadow"]["summary"] == routes["stable"]["summary"]
    assert routes["shadow"]["versus_stable"]["drifted"] is False
    # the same artifact on the same requests: its holdout test is the stable's prediction drift
    assert routes["shadow"]["versus_holdout"] == routes["stable"]["versus_holdout"]
