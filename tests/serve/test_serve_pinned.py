"""Pinned mode (the image in KServe): one file, verified against its sha256, served with no Git
on PATH and no repository, with the same validation, metrics, prediction log and protocols."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from mlops.core import paths
from mlops.data.sample import contract as sample_contract
from mlops.formats import predlog
from mlops.formats.contract import MODEL_ATTRIBUTE, contract_of
from mlops.model import model_io, registry
from mlops.serve import validation
from tests.serve import servers
from tests.serve.conftest import GOOD, MODEL
from tests.serve.test_serve_api import _records
from tests.serve.test_serve_v2 import tensors

CONTRACT = sample_contract()
COLUMNS = [c for c in CONTRACT.columns if c.feature]
FEATURES = list(CONTRACT.features)
read_table = CONTRACT.read_table

pytestmark = pytest.mark.e2e


@pytest.mark.xdist_group(servers.PINNED_GROUP)
def test_pinned_mode_serves_the_verified_file_without_git(pinned_server, tmp_path):
    server, versions_repo = pinned_server.server, pinned_server.repo
    mounted = pinned_server.model_file
    version = registry.get_version(versions_repo, MODEL, GOOD[1])  # the workspace's model
    assert mounted.name == version.metadata["md5"][2:]  # as KServe mounts it
    holdout = read_table(versions_repo / paths.HOLDOUT)
    records = _records(holdout[:20])
    # the pipeline's own answer; the served path (compiled when parity holds) matches it to 1e-9
    expected = model_io.load(mounted).predict_proba(validation.frame(records))[:, 1].tolist()

    seen = len(server.log())  # the shared server's log before this test's requests
    client = httpx.Client(base_url=server.url, timeout=60)
    view = server.version()
    assert view["sync"] == "Synced", view["reason"]
    assert view["ref"] == "pinned" and view["commit"] is None
    assert view["stable"] == {"version": GOOD[1], "digest": version.digest}
    assert client.get("/v2/health/ready").status_code == 200
    answer = server.predict(records)
    assert answer["probabilities"] == pytest.approx(expected, abs=1e-9)
    assert answer["model_version"] == GOOD[1]
    infer = client.post(f"/v2/models/{MODEL}/infer", json=tensors(records)).json()
    assert infer["outputs"][1]["data"] == answer["probabilities"]
    bad = client.post("/predict", json={"records": [{**records[0], "region": "mars"}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "region"
    assert (
        f'mlops_predictions_total{{route="stable",version="{GOOD[1]}"}}'
        in client.get("/metrics").text
    )

    # the prediction log on stdout (`MLOPS_LOG_DIR=-`), for the cluster's log collector
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_logged_since(server, seen)) < len(records):
        time.sleep(0.2)
    logged = _logged_since(server, seen)
    assert len(logged) >= len(records) and set(predlog.FIELDS) <= logged[0].keys()
    assert logged[0]["model_version"] == GOOD[1]

    # another digest than the file's: never loaded, the server stays unready and says why
    other = registry.get_version(versions_repo, MODEL, GOOD[0]).digest
    with servers.start_pinned(tmp_path / "bad", mounted, GOOD[0], other) as server:
        view = server.version()
        assert view["sync"] == "Degraded" and view["stable"] is None
        assert f"but Git pinned {other}; refusing to load it" in view["reason"]
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 503


def _logged_since(server, seen: int) -> list[dict]:
    """The prediction records the server printed after the first ``seen`` characters (whole
    lines only: it may be writing one)."""
    text = server.log()[seen:]
    lines = text[: text.rfind("\n") + 1].splitlines()
    return [json.loads(line) for line in lines if '"request_id"' in line]


def _marked_model(versions_repo: Path, tmp_path: Path) -> Path:
    """The workspace's model with ``region`` marked personal in the contract it carries."""
    model = model_io.load(versions_repo / paths.MODEL)
    raw = contract_of(model).to_dict()
    raw["columns"]["region"]["personal"] = True
    setattr(model, MODEL_ATTRIBUTE, raw)
    marked = tmp_path / "mnt" / "models" / "marked"
    model_io.save(model, marked)
    return marked


def _serve_and_read_log(tmp_path: Path, marked: Path, records: list[dict], key: str):
    """Serve ``marked`` (key ``key``), predict ``records``; the logged features, the server log."""
    digest = model_io.sha256(marked)
    with servers.start_pinned(tmp_path / "run", marked, "v9.9.9", digest, key=key) as server:
        assert server.version()["sync"] == "Synced", server.version()["reason"]
        assert server.predict(records)["model_version"] == "v9.9.9"
        log = predlog.env_dir(tmp_path / "run" / "state" / "logs", "production") / predlog.ACTIVE
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _lines(log) < len(records):
            time.sleep(0.1)
    logged = [json.loads(line)["features"] for line in log.read_text().splitlines()]
    return logged, (tmp_path / "run" / "server.log").read_text()


def _lines(path: Path) -> int:
    """Complete lines in ``path`` so far (0 before it exists)."""
    return path.read_bytes().count(b"\n") if path.is_file() else 0


def test_pinned_mode_hashes_what_the_models_own_contract_marks_personal(versions_repo, tmp_path):
    """No repository in the container: the personal columns come from the contract the model
    file carries, hashed by the same ``predlog.redact`` as the GitOps server's log."""
    marked = _marked_model(versions_repo, tmp_path)
    records = _records(read_table(versions_repo / paths.HOLDOUT)[:5])
    logged, _ = _serve_and_read_log(tmp_path, marked, records, servers.HASH_KEY)
    hashed = [predlog.hash_value(r["region"], servers.HASH_KEY.encode()) for r in records]
    assert [row["region"] for row in logged] == hashed
    assert [row["tenure_months"] for row in logged] == [r["tenure_months"] for r in records]


def test_a_server_without_the_key_logs_no_personal_column_and_says_so(versions_repo, tmp_path):
    marked = _marked_model(versions_repo, tmp_path)
    records = _records(read_table(versions_repo / paths.HOLDOUT)[:5])
    logged, server_log = _serve_and_read_log(tmp_path, marked, records, key="")
    assert len(logged) == len(records)
    assert all("region" not in row for row in logged)  # left out, neither value nor hash
    assert [row["tenure_months"] for row in logged] == [r["tenure_months"] for r in records]
    assert "$MLOPS_LOG_HASH_KEY is not set: the personal column(s) region" in server_log
