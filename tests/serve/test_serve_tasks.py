"""Serving an adopted table of each task: the server validates requests with the contract the
served version carries (a bad record gets a 422 naming the adopted column), answers per task
exactly as the evaluate stage predicted, and logs per task."""

from __future__ import annotations

import math

import httpx
import pandas as pd
import pytest

from mlops.core import paths
from mlops.formats import predlog
from mlops.formats.contract import load_contract
from mlops.serve import launcher
from tests.adopted import TASKS, deploy, private_copy

pytestmark = pytest.mark.e2e


@pytest.fixture(params=TASKS)
def served(request, adopted, tmp_path):
    repo = private_copy(adopted(request.param), tmp_path)
    deploy(repo, "staging", "v1.0.0")
    return request.param, repo


def _records(frame: pd.DataFrame, features) -> list[dict]:
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in frame[list(features)].astype(object).to_dict(orient="records")
    ]


def _check_answer(task: str, body: dict, expected: pd.DataFrame, contract) -> None:
    if task == "regression":
        assert "probabilities" not in body and "classes" not in body
        assert body["predictions"] == pytest.approx(expected["prediction"].tolist(), rel=1e-9)
        return
    assert body["predictions"] == expected["prediction"].astype(str).tolist()
    if task == "binary":
        assert body["probabilities"] == pytest.approx(expected["proba"].tolist(), rel=1e-9)
        assert set(body["predictions"]) <= set(contract.classes)
    else:
        assert body["classes"] == list(contract.classes)
        assert all(sum(row) == pytest.approx(1.0) for row in body["probabilities"])
        best = [max(row) for row in body["probabilities"]]
        assert best == pytest.approx(expected["proba"].tolist(), rel=1e-9)


def test_answers_per_task_and_422s_name_the_adopted_column(served):
    task, repo = served
    contract = load_contract(repo)
    holdout = contract.read_table(repo / paths.HOLDOUT)[:40]
    expected = pd.read_csv(repo / paths.PREDICTIONS, float_precision="round_trip")[:40]
    records = _records(holdout, contract.features)
    with launcher.start(repo, "staging", workers=1) as server:
        body = server.predict(records)
        assert body["model_version"] == "v1.0.0"
        _check_answer(task, body, expected, contract)

        client = httpx.Client(base_url=server.url, timeout=60)
        category, number = contract.categorical[0], contract.numeric[0]
        bad = [
            ({**records[0], category: "not-a-category"}, category, "unknown category"),
            ({**records[0], number: "high"}, number, "must be "),
            ({**records[0], number: 1e12}, number, "must be between"),
            ({k: v for k, v in records[0].items() if k != category}, category, "field required"),
            ({**records[0], "not_a_column": 1}, "not_a_column", "unknown field"),
        ]
        for record, column, words in bad:
            resp = client.post("/predict", json={"records": [record]})
            assert resp.status_code == 422, resp.text
            [error] = resp.json()["detail"]
            assert error["loc"] == ["records", 0, column] and words in error["msg"], error
        # a row exactly as the table holds it, target included: answered, the target unscored
        exported = client.post("/predict", json={"records": [{**records[0], contract.target: 1}]})
        assert exported.status_code == 200, exported.text
        assert exported.json()["predictions"] == body["predictions"][:1]
        metrics = client.get("/metrics").text
        name = {
            "binary": "mlops_prediction_score_bucket",
            "multiclass": "mlops_predicted_class_total",
            "regression": "mlops_prediction_value",
        }[task]
        assert f"{name}{{" in metrics

    logged = list(predlog.read(repo / predlog.DEFAULT_DIR, "staging"))
    assert len(logged) == len(records) + 1 and logged[-1]["features"] == records[0]  # no target
    logged = logged[:-1]
    assert [r["prediction"] for r in logged] == body["predictions"]
    probability = [r["probability"] for r in logged]
    if task == "regression":
        assert probability == [None] * len(records)
    else:
        assert all(0 <= p <= 1 for p in probability)
    if task == "multiclass":  # every class's probability too: live log loss needs them
        for rec, row in zip(logged, body["probabilities"], strict=True):
            assert rec["probabilities"] == pytest.approx(row, abs=1e-6)
            assert max(rec["probabilities"]) == pytest.approx(rec["probability"], abs=1e-6)
    else:
        assert all("probabilities" not in rec for rec in logged)
