"""The Open Inference Protocol spoken exactly, with Triton's own clients (HTTP JSON, HTTP binary,
gRPC) and a raw client for every rule at its edges, against real servers on 127.0.0.1: the GitOps
server with a canary, and the pinned server KServe runs."""

from __future__ import annotations

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from mlops.core import paths
from mlops.data.sample import contract as sample_contract
from mlops.serve.routing import bucket
from tests.serve import servers
from tests.serve.conftest import GOOD, MODEL
from tests.serve.servers import TRAFFIC
from tests.serve.test_serve_api import _records
from tests.serve.test_serve_v2 import tensors

pytestmark = pytest.mark.e2e
CONTRACT = sample_contract()
COLUMNS = [c for c in CONTRACT.columns if c.feature]
NUMPY = {"int": (np.int64, "INT64"), "float": (np.float64, "FP64"), "category": (object, "BYTES")}
STABLE_ID = next(f"s{i}" for i in range(1000) if bucket(f"s{i}") >= TRAFFIC)
CANARY_ID = next(f"c{i}" for i in range(1000) if bucket(f"c{i}") < TRAFFIC)


def _inputs(module, records: list[dict], binary: bool | None = None) -> list:
    """One numpy column per input, as a user of Triton's client builds them."""
    out = []
    for c in COLUMNS:
        dtype, datatype = NUMPY[c.kind]
        values = [np.nan if r[c.name] is None else r[c.name] for r in records]
        tensor = module.InferInput(c.name, [len(records)], datatype)
        array = np.array(values, dtype=dtype)
        if binary is None:
            tensor.set_data_from_numpy(array)
        else:
            tensor.set_data_from_numpy(array, binary_data=binary)
        out.append(tensor)
    return out


def _check_triton_clients(http_url: str, grpc_url: str, records, expected: dict, version: str):
    """Triton's HTTP (JSON and binary) and gRPC clients get exactly /predict's answer."""
    complete = [r for r in records if None not in r.values()]  # JSON has no NaN
    for binary, rows in ((True, records), (False, complete)):
        client = httpclient.InferenceServerClient(http_url)
        assert client.is_server_live() and client.is_model_ready(MODEL)
        outputs = [httpclient.InferRequestedOutput(n, binary_data=binary)
                   for n in ("predictions", "probabilities")]  # fmt: skip
        result = client.infer(
            MODEL, _inputs(httpclient, rows, binary), request_id=STABLE_ID, outputs=outputs
        )
        wanted = [i for i, r in enumerate(records) if r in rows]
        assert result.as_numpy("probabilities").tolist() == [
            expected["probabilities"][i] for i in wanted
        ]
        assert result.as_numpy("predictions").tolist() == [
            expected["predictions"][i] for i in wanted
        ]
        assert result.get_response()["model_version"] == version
        assert result.get_response()["id"] == STABLE_ID
    default = httpclient.InferenceServerClient(http_url).infer(  # binary outputs by default
        MODEL, _inputs(httpclient, records), request_id=STABLE_ID
    )
    assert default.as_numpy("probabilities").tolist() == expected["probabilities"]

    client = grpcclient.InferenceServerClient(grpc_url)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(MODEL)
    meta = client.get_model_metadata(MODEL, as_json=True)
    assert [i["name"] for i in meta["inputs"]] == [c.name for c in COLUMNS]
    result = client.infer(MODEL, _inputs(grpcclient, records), request_id=STABLE_ID)
    assert result.as_numpy("probabilities").tolist() == expected["probabilities"]
    assert result.as_numpy("predictions").tolist() == expected["predictions"]
    assert result.get_response().model_version == version
    with pytest.raises(InferenceServerException) as refused:
        client.infer("other-model", _inputs(grpcclient, records[:1]))
    assert refused.value.status() == "StatusCode.NOT_FOUND"


@pytest.mark.xdist_group(servers.CANARY_GROUP)
def test_triton_clients_and_every_protocol_rule_gitops(canary_server):
    server, grpc_port = canary_server.server, canary_server.grpc_port
    records = _records(CONTRACT.read_table(canary_server.repo / paths.HOLDOUT)[:100])
    client = httpx.Client(base_url=server.url, timeout=60)
    stable = server.predict(records, request_id=STABLE_ID)
    assert stable["model_version"] == GOOD[0]
    one = server.predict(records[:1], request_id=STABLE_ID)
    host = server.url.removeprefix("http://")
    _check_triton_clients(host, f"127.0.0.1:{grpc_port}", records, stable, GOOD[0])
    _check_triton_clients(host, f"127.0.0.1:{grpc_port}", records[:1], one, GOOD[0])
    _check_versions(client, records, grpc_port)
    _check_rules(client, records, server)


def _check_versions(client: httpx.Client, records, grpc_port: int) -> None:
    """Every held version has its routes, past the canary split; any other is a clear 404."""
    assert client.get(f"/v2/models/{MODEL}").json()["versions"] == list(GOOD)
    canary = client.post(f"/v2/models/{MODEL}/versions/{GOOD[1]}/infer",
                         json={**tensors(records[:3]), "id": STABLE_ID})  # fmt: skip
    assert canary.status_code == 200 and canary.json()["model_version"] == GOOD[1]
    assert canary.json()["parameters"]["route"] == "canary"
    for path in ("", "/ready"):
        assert client.get(f"/v2/models/{MODEL}/versions/{GOOD[0]}{path}").status_code == 200
    missing = client.post(f"/v2/models/{MODEL}/versions/v9.9.9/infer", json=tensors(records[:1]))
    assert missing.status_code == 404
    assert missing.json()["error"].startswith(f"model {MODEL!r} has no version 'v9.9.9'")
    result = grpcclient.InferenceServerClient(f"127.0.0.1:{grpc_port}").infer(
        MODEL, _inputs(grpcclient, records[:3]), model_version=GOOD[1], request_id=STABLE_ID
    )
    assert result.get_response().model_version == GOOD[1]


def _post(client: httpx.Client, body: dict, **kwargs) -> httpx.Response:
    return client.post(f"/v2/models/{MODEL}/infer", json=body, **kwargs)


def _check_rules(client: httpx.Client, records, server) -> None:
    """The raw edges: error bodies, outputs, ids, datatypes, shapes, bounded errors."""
    for method, path, status in (("GET", "/v2/nope", 404), ("GET", f"/v2/models/{MODEL}/infer",
                                 405), ("DELETE", "/v2/health/live", 405)):  # fmt: skip
        answer = client.request(method, path)
        assert answer.status_code == status and set(answer.json()) == {"error"}, answer.text
    assert client.get("/nope").json() == {"detail": "Not Found"}  # outside /v2: unchanged

    body = tensors(records[:2])
    only = _post(client, {**body, "outputs": [{"name": "probabilities"}]}).json()
    assert [o["name"] for o in only["outputs"]] == ["probabilities"]
    unknown = _post(client, {**body, "outputs": [{"name": "logits"}]})
    assert unknown.status_code == 400 and "output 'logits' is not an output" in unknown.text

    echoed = _post(client, {**body, "id": "mine 1"}, headers={"X-Request-ID": "theirs"})
    assert echoed.json()["id"] == "mine 1" and echoed.headers["x-request-id"] == "mine 1"
    header = _post(client, body, headers={"X-Request-ID": "theirs"})
    assert header.json()["id"] == "theirs" and header.headers["x-request-id"] == "theirs"
    before = _served_200(client)
    for bad_id in ("line\nbreak", "caf\u00e9 \u2603", "", 7):
        refused = _post(client, {**body, "id": bad_id})
        assert refused.status_code == 400 and "request id" in refused.json()["error"], bad_id
    assert _served_200(client) == before  # refused before anything was scored

    def with_input(name: str, drop: str = "", **change) -> dict:
        changed = {**next(t for t in body["inputs"] if t["name"] == name), **change}
        changed.pop(drop, None)
        return {"inputs": [changed if t["name"] == name else t for t in body["inputs"]]}

    cases = {
        "'total_charges' [0]: 99.17 is not a INT32 value": with_input(
            "total_charges", datatype="INT32", data=[99.17, 5]
        ),
        "'tenure_months': 'shape' is required": with_input("tenure_months", drop="shape"),
        "'tenure_months': 'datatype' is required": with_input("tenure_months", drop="datatype"),
        "'tenure_months' [0]: 300 is not a INT8 value": with_input(
            "tenure_months", datatype="INT8", data=[300, 1]
        ),
    }
    for expected, broken in cases.items():
        refused = _post(client, broken)
        assert refused.status_code == 400 and expected in refused.json()["error"], refused.text
    int32 = _post(client, with_input("total_charges", datatype="INT32", data=[99, 5]))
    assert int32.status_code == 200, int32.text

    # bounded work: thousands of errors give a short answer that counts the rest
    noisy = [{**r, **{f"extra{i}": i for i in range(50)}} for r in records] * 10
    many = client.post("/predict", json={"records": noisy})
    assert many.status_code == 422 and len(many.json()["detail"]) == 101
    assert many.json()["detail"][-1]["count"] == len(noisy) * 50 - 100
    broken = tensors(records[:2] * 500)
    region = next(t for t in broken["inputs"] if t["name"] == "region")
    region["data"] = ["mars"] * 1000
    refused = _post(client, broken)
    assert refused.status_code == 400 and "and 980 more error(s)" in refused.json()["error"]


def _served_200(client: httpx.Client) -> float:
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("mlops_requests_total{") and 'status="200"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.xdist_group(servers.PINNED_GROUP)
def test_triton_clients_pinned_mode(pinned_server):
    server, grpc_port = pinned_server.server, pinned_server.grpc_port
    records = _records(CONTRACT.read_table(pinned_server.repo / paths.HOLDOUT)[:100])
    expected = server.predict(records, request_id=STABLE_ID)
    host = server.url.removeprefix("http://")
    _check_triton_clients(host, f"127.0.0.1:{grpc_port}", records, expected, GOOD[1])
    missing = httpx.get(f"{server.url}/v2/models/{MODEL}/versions/{GOOD[0]}")
    assert missing.status_code == 404 and GOOD[0] in missing.json()["error"]
    # a gRPC message above the body limit is refused unread
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
    with pytest.raises(grpc.RpcError) as refused:
        call(b"\x0a" + b"\xff" * 5 + b"\x00" * (17 * 2**20), timeout=60)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert server.process.poll() is None  # and the shared server is still up
