"""KServe's own REST client (``InferenceRESTClient``, numpy inputs: the binary tensor extension)
against real servers on 127.0.0.1, `mlops serve` and `mlops serve-pinned`: 1 and 100 rows,
answers equal to /predict's, JSON and binary outputs, errors the client reads."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlops.core import paths
from tests.serve import servers
from tests.serve.conftest import GOOD, MODEL
from tests.serve.kserve_env import kserve_python  # noqa: F401 (a fixture)
from tests.serve.test_serve_api import _records
from tests.serve.test_serve_oip import CANARY_ID, COLUMNS, CONTRACT, NUMPY, STABLE_ID

pytestmark = pytest.mark.e2e
CLIENT = Path(__file__).with_name("kserve_rest_client.py")


def _job(url: str, batches: list[tuple[str, list[dict]]]) -> dict:
    requests = [
        {"id": request_id,
         "inputs": [{"name": c.name, "datatype": NUMPY[c.kind][1],
                     "values": [r[c.name] for r in rows]} for c in COLUMNS]}
        for request_id, rows in batches
    ]  # fmt: skip
    return {"url": url, "model": MODEL, "requests": requests}


def _kserve_client(python: Path, job: dict) -> dict:
    done = subprocess.run(
        [str(python), str(CLIENT)], input=json.dumps(job), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"KServe's client failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)


def _check(seen: dict, expected: list[dict], ids: list[str]) -> None:
    assert seen["live"] is True and seen["ready"] is True and seen["model_ready"] is True
    assert seen["other_model_ready"] is False
    for answer, wanted, request_id in zip(seen["answers"], expected, ids, strict=True):
        assert answer["id"] == request_id
        for kind in ("json", "binary"):
            assert answer[kind]["probabilities"] == wanted["probabilities"], kind
            assert answer[kind]["predictions"] == wanted["predictions"], kind
        header, body = answer["binary_lengths"]
        raw = len(wanted["predictions"]) * 8 * 2  # two 8-byte outputs, as raw bytes
        assert header > 0 and body == header + raw, answer["binary_lengths"]
    status, message = seen["refused"]
    assert status == 404 and "no-such-model" in message  # the {"error"} text, read by kserve


@pytest.mark.xdist_group(servers.CANARY_GROUP)
def test_kserve_rest_client_gitops(kserve_python, canary_server):  # noqa: F811
    server = canary_server.server
    records = _records(CONTRACT.read_table(canary_server.repo / paths.HOLDOUT)[:100])
    batches = [(STABLE_ID, records), (STABLE_ID, records[:1]), (CANARY_ID, records[:1])]
    expected = [server.predict(rows, request_id=i) for i, rows in batches]
    assert [e["model_version"] for e in expected] == [GOOD[0], GOOD[0], GOOD[1]]
    seen = _kserve_client(kserve_python, _job(server.url, batches))
    _check(seen, expected, [i for i, _ in batches])


@pytest.mark.xdist_group(servers.PINNED_GROUP)
def test_kserve_rest_client_pinned(kserve_python, pinned_server):  # noqa: F811
    server = pinned_server.server
    records = _records(CONTRACT.read_table(pinned_server.repo / paths.HOLDOUT)[:100])
    batches = [(STABLE_ID, records), (CANARY_ID, records[:1])]
    expected = [server.predict(rows, request_id=i) for i, rows in batches]
    seen = _kserve_client(kserve_python, _job(server.url, batches))
    _check(seen, expected, [i for i, _ in batches])
