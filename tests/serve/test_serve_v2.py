"""The Open Inference Protocol (KServe V2) against a real server on 127.0.0.1: health, model
metadata from the data contract, and infer answering exactly what /predict answers."""

from __future__ import annotations

import httpx
import pytest

from mlops.core import paths
from mlops.data.sample import contract as sample_contract
from mlops.serve import launcher, oip, validation
from mlops.serve.routing import LoadedModel
from tests.serve.conftest import GOOD, MODEL, deploy
from tests.serve.test_serve_api import _records

CONTRACT = sample_contract()
COLUMNS = [c for c in CONTRACT.columns if c.feature]
FEATURES = list(CONTRACT.features)
read_table = CONTRACT.read_table

pytestmark = pytest.mark.e2e
DATATYPE = {"int": "INT64", "float": "FP64", "category": "BYTES"}


def tensors(records: list[dict], nested: bool = False) -> dict:
    """MLServer's tabular convention: one input tensor per column."""
    n = len(records)
    return {
        "inputs": [
            {
                "name": c.name,
                "shape": [n, 1] if nested else [n],
                "datatype": DATATYPE[c.kind],
                "data": [[r[c.name]] if nested else r[c.name] for r in records],
            }
            for c in COLUMNS
        ]
    }


def _inputs(body: dict) -> list[oip.Input]:
    return [
        oip.Input(t["name"], t.get("datatype"), t.get("shape"), t["data"]) for t in body["inputs"]
    ]


def test_unit_inputs_to_rows_names_every_wrong_input():
    records = [{c.name: c.low or 0 if c.numeric else c.categories[0] for c in COLUMNS}]
    body = tensors(records)
    cases = {
        "region": lambda b: b["inputs"].pop(),
        "'nope' is not a column": lambda b: b["inputs"].append(
            {"name": "nope", "datatype": "FP64", "shape": [1], "data": [1]}
        ),
        "'tenure_months': datatype 'BYTES'": lambda b: b["inputs"][0].update(datatype="BYTES"),
        "'tenure_months': shape [3]": lambda b: b["inputs"][0].update(shape=[3]),
        "same number of values": lambda b: b["inputs"][0].update(data=[1, 2], shape=[2]),
        "'contract' [0]: 0 is not a BYTES value": lambda b: b["inputs"][
            FEATURES.index("contract")
        ].update(data=[0]),
    }
    for expected, breaks in cases.items():
        broken = {"inputs": [dict(t) for t in body["inputs"]]}
        breaks(broken)
        with pytest.raises(validation.RequestError) as raised:
            model = LoadedModel(MODEL, "v0", "sha256:0", None, contract=CONTRACT)
            oip.rows(_inputs(broken), None, model)
        assert expected in raised.value.errors[0]["msg"], (expected, raised.value.errors)


def test_v2_protocol_beside_predict(served_repo):
    holdout = read_table(served_repo / paths.HOLDOUT)
    records = _records(holdout[:25])
    with launcher.start(served_repo, "staging", workers=1) as server:
        client = httpx.Client(base_url=server.url, timeout=60)
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").status_code == 503  # nothing deployed yet
        assert client.post(f"/v2/models/{MODEL}/infer", json=tensors(records)).status_code == 503

        deploy(served_repo, "staging", GOOD[0])
        server.sync()
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get(f"/v2/models/{MODEL}/ready").json()["ready"] is True
        meta = client.get(f"/v2/models/{MODEL}").json()
        assert meta["name"] == MODEL and meta["versions"] == [GOOD[0]]
        assert [i["name"] for i in meta["inputs"]] == list(FEATURES)
        assert {i["datatype"] for i in meta["inputs"]} == {"INT64", "FP64", "BYTES"}
        assert client.get("/v2/models/other").status_code == 404

        rest = server.predict(records)
        for nested in (False, True):
            answer = client.post(f"/v2/models/{MODEL}/infer", json=tensors(records, nested))
            assert answer.status_code == 200, answer.text
            out = {o["name"]: o for o in answer.json()["outputs"]}
            assert out["probabilities"]["data"] == rest["probabilities"]  # exactly, not approx
            assert out["predictions"]["data"] == rest["predictions"]
            assert out["probabilities"]["shape"] == [len(records)]
            assert answer.json()["model_version"] == GOOD[0]

        broken = tensors(records[:1])
        broken["inputs"] = [t for t in broken["inputs"] if t["name"] != "region"]
        refused = client.post(f"/v2/models/{MODEL}/infer", json=broken)
        assert refused.status_code == 400 and "missing input(s): region" in refused.json()["error"]
        broken = tensors([{**records[0], "region": "mars"}])
        refused = client.post(f"/v2/models/{MODEL}/infer", json=broken)
        assert refused.status_code == 400
        assert "input 'region' [0]: unknown category" in refused.json()["error"]
        metrics = client.get("/metrics").text
        assert 'status="400"' in metrics  # counted like any other request
