"""The server against a real repository: a bare origin, registered versions, a DVC remote, and
`mlops serve` as a subprocess on a free port of 127.0.0.1."""

from __future__ import annotations

import math
import shutil

import httpx
import numpy as np
import pandas as pd
import pytest

from mlops import inference
from mlops.core import paths
from mlops.data.sample import contract as sample_contract
from mlops.formats import predlog
from mlops.inference import PARITY_TOLERANCE
from mlops.serve import launcher
from mlops.serve.routing import bucket
from tests.conftest import git
from tests.serve.conftest import BAD_DIGEST, GOOD, MISSING_ARTIFACT, deploy, digest

pytestmark = pytest.mark.e2e
METRIC_NAMES = (
    "mlops_requests_total",
    "mlops_request_latency_seconds_bucket",
    "mlops_prediction_score_bucket",
    "mlops_cpu_seconds_total",
    "mlops_predictions_total",
    "mlops_sync_state",
    "mlops_active_version",
)


def _records(df: pd.DataFrame) -> list[dict]:
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in df[list(sample_contract().features)].to_dict(orient="records")
    ]


@pytest.fixture
def holdout(served_repo) -> pd.DataFrame:
    return sample_contract().read_table(served_repo / paths.HOLDOUT)


def test_serves_what_models_yaml_says(served_repo, holdout):
    # the CLI's defaults (two workers here); the other tests start one unless they check several
    with launcher.start(served_repo, "staging") as server:
        client = httpx.Client(base_url=server.url, timeout=60)
        # nothing deployed yet: up, not ready, and it says why
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "deploys no version of churn-model to staging" in ready.json()["reason"]
        assert server.version()["stable"] is None
        assert client.post("/predict", json={"records": _records(holdout[:1])}).status_code == 503

        commit = deploy(served_repo, "staging", GOOD[0])
        assert client.post("/-/sync").status_code == 401
        wrong = client.post("/-/sync", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        state = server.sync()
        assert state["sync"] == "Synced", state
        assert state["commit"] == commit
        assert state["stable"] == {"version": GOOD[0], "digest": digest(served_repo, GOOD[0])}
        assert state["canary"] is None
        assert {"env", "commit", "stable", "canary", "sync", "reason"} <= state.keys()
        assert client.get("/readyz").status_code == 200
        # the compiled path passed its parity gate at load; /version and the log say so
        served = state["inference"]["stable"]
        assert served["path"] == "compiled" and served["reason"] == "", served
        assert served["parity_max_abs_diff"] <= PARITY_TOLERANCE
        assert f"churn-model@{GOOD[0]}: inference compiled (arrays + treelite" in server.log()

        # the holdout, served, equals the evaluate stage's predictions
        # written with %.17g; pandas' default float parser can be 1 ulp off, round_trip is not
        predictions = pd.read_csv(served_repo / paths.PREDICTIONS, float_precision="round_trip")
        expected = predictions["proba"].to_numpy()
        got, answers = [], []
        for start in range(0, len(holdout), 250):
            body = server.predict(_records(holdout[start : start + 250]))
            assert body["model_version"] == GOOD[0] and body["route"] == "stable"
            got += body["probabilities"]
            answers += body["predictions"]
        # served by the path chosen at load: the pipeline's outputs within the parity gate, and
        # the answers at the threshold the version carries (the one evaluate recorded)
        np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=PARITY_TOLERANCE)
        assert answers == predictions["prediction"].tolist()

        # bad requests get field-level 422s, and the server keeps serving
        good = _records(holdout[:1])[0]
        bad = {
            b"{not json": ["body"],
            b'{"records": [{"tenure_months": 1}]}': ["records", 0, "monthly_charges"],
        }
        for body, loc in bad.items():
            resp = client.post("/predict", content=body)
            assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == loc
        for field, value in [("tenure_months", "x"), ("tenure_months", 500), ("region", "mars")]:
            resp = client.post("/predict", json={"records": [{**good, field: value}]})
            assert resp.status_code == 422
            assert resp.json()["detail"][0]["loc"] == ["records", 0, field]
        resp = client.post("/predict", json={"records": [good]}, headers={"X-Request-ID": "abc"})
        assert resp.status_code == 200 and resp.json()["request_id"] == "abc"

        text = client.get("/metrics").text
        for name in METRIC_NAMES:
            assert name in text, name
        assert f'mlops_active_version{{route="stable",version="{GOOD[0]}"}} 1.0' in text
        assert 'mlops_sync_state{state="Synced"} 1.0' in text
        assert f'mlops_requests_total{{route="stable",status="422",version="{GOOD[0]}"}}' in text

    logged = list(predlog.read(served_repo / predlog.DEFAULT_DIR, "staging"))
    assert len(logged) == len(holdout) + 1
    assert set(logged[0]) == set(predlog.FIELDS)
    assert {r["model_version"] for r in logged} == {GOOD[0]}
    assert "logs/" in git(served_repo, "check-ignore", "logs/predictions/staging/predictions.jsonl")
    assert git(served_repo, "status", "--porcelain") == ""


def test_the_pipeline_serves_when_faster_paths_are_off(served_repo, holdout, monkeypatch):
    monkeypatch.setenv(inference.SWITCH, inference.PIPELINE)
    deploy(served_repo, "staging", GOOD[0])
    with launcher.start(served_repo, "staging", workers=1) as server:
        served = server.version()["inference"]["stable"]
        assert served["path"] == "pipeline"
        assert served["reason"] == "MLOPS_INFERENCE=pipeline: faster paths are switched off"
        assert f"churn-model@{GOOD[0]}: inference pipeline (sklearn Pipeline" in server.log()
        assert "MLOPS_INFERENCE=pipeline" in server.log()
        predictions = pd.read_csv(served_repo / paths.PREDICTIONS, float_precision="round_trip")
        body = server.predict(_records(holdout[:50]))
        # the pipeline itself: the evaluate stage's predictions to the last bit
        np.testing.assert_array_equal(body["probabilities"], predictions["proba"][:50])


def test_canary_split_and_instant_rollback(served_repo, holdout):
    deploy(served_repo, "production", GOOD[0])
    with launcher.start(served_repo, "production", workers=1, log_sample_rate=0) as server:
        assert server.version()["stable"]["version"] == GOOD[0]
        deploy(served_repo, "production", GOOD[0], canary=GOOD[1], traffic=30)
        state = server.sync()
        assert state["sync"] == "Synced"
        assert state["canary"] == {
            "version": GOOD[1],
            "digest": digest(served_repo, GOOD[1]),
            "traffic": 30,
        }
        record = _records(holdout[:1])
        routes = {}
        for i in range(200):
            body = server.predict(record, request_id=f"req-{i}")
            routes[f"req-{i}"] = (body["route"], body["model_version"])
        for rid, (route, version) in routes.items():
            expected = "canary" if bucket(rid) < 30 else "stable"
            assert route == expected
            assert version == (GOOD[1] if route == "canary" else GOOD[0])
        assert 0.15 < sum(r == "canary" for r, _ in routes.values()) / len(routes) < 0.45

        promote = deploy(served_repo, "production", GOOD[1])
        assert server.sync()["stable"]["version"] == GOOD[1]
        # roll back by revert: the previous version is still loaded, so it is a pointer swap
        git(served_repo, "revert", "--no-edit", promote)
        git(served_repo, "push", "-q", "origin", "HEAD:main")
        state = server.sync()
        assert state["sync"] == "Synced" and state["stable"]["version"] == GOOD[0]
        assert state["canary"]["version"] == GOOD[1]
        assert sorted(state["loaded"]) == sorted(GOOD)
        assert server.predict(record, request_id="req-0")["model_version"] in GOOD
        assert "loading" not in server.log()


def test_faults_never_go_live(served_repo, holdout):
    deploy(served_repo, "staging", GOOD[0])
    record = _records(holdout[:1])
    with launcher.start(served_repo, "staging", workers=2, log_sample_rate=0) as server:
        good_state = server.version()
        assert good_state["sync"] == "Synced"
        cases = {
            BAD_DIGEST: "refusing it",  # downloaded file's sha256 differs from the tag's
            MISSING_ARTIFACT: "cannot fetch",  # not in the DVC remote
        }
        for version, words in cases.items():
            commit = deploy(served_repo, "staging", version)
            state = server.sync()
            assert state["sync"] == "Degraded", state
            assert words in state["reason"] and version in state["reason"], state["reason"]
            assert state["stable"] == good_state["stable"]
            assert state["desired_commit"] == commit
            assert server.predict(record)["model_version"] == GOOD[0]
        # models.yaml pins a digest the tag does not record
        deploy(served_repo, "staging", GOOD[1], pin="sha256:" + "a" * 64)
        state = server.sync()
        assert state["sync"] == "Degraded" and "models.yaml pins sha256:aaaa" in state["reason"]

        back = deploy(served_repo, "staging", GOOD[0])
        state = server.sync()
        assert state["sync"] == "Synced" and state["commit"] == back

        # the Git remote goes away: keep serving, report it
        origin = served_repo.parent / "origin.git"
        shutil.move(origin, origin.with_name("away.git"))
        state = server.sync()
        assert state["sync"] == "Degraded" and "git fetch origin failed" in state["reason"]
        # the first meaningful line of git's message and the remote's URL, not its last advice
        assert "does not appear to be a git repository" in state["reason"], state["reason"]
        assert f"(origin is {origin})" in state["reason"]
        assert server.predict(record)["model_version"] == GOOD[0]
        shutil.move(origin.with_name("away.git"), origin)
        assert server.sync()["sync"] == "Synced"


def test_prediction_log_rotates_and_samples(served_repo, holdout):
    deploy(served_repo, "staging", GOOD[0])
    records = _records(holdout[:5])
    args = ("--log-max-mb", "0.02")
    with launcher.start(
        served_repo, "staging", workers=1, log_sample_rate=0.5, extra_args=args
    ) as server:
        for i in range(200):
            server.predict(records, request_id=f"r{i}")
    folder = served_repo / predlog.DEFAULT_DIR / "staging"
    assert len(list(folder.glob("predictions-*.jsonl"))) >= 2
    assert all(p.stat().st_size <= 0.02 * 2**20 for p in folder.glob("*.jsonl"))
    requests = {r["request_id"] for r in predlog.read(folder.parent, "staging")}
    assert 60 < len(requests) < 140  # about half of 200, sampled per request
