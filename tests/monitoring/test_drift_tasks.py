"""`mlops drift` on an adopted table of each task: column kinds from the version's contract,
prediction drift per task (probability, class shares, value), traffic made from the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops.core import paths
from mlops.demos import traffic
from mlops.formats import predlog
from mlops.formats.contract import Contract, load_contract
from mlops.model import model_io
from mlops.monitoring import drift
from mlops.serve import answers, validation
from tests.adopted import TASKS, deploy, private_copy

pytestmark = pytest.mark.integration
PREDICTION = {
    "binary": "probability",
    "multiclass": "predicted_class",
    "regression": "predicted_value",
}


def write_log(
    log_dir: Path, repo: Path, contract: Contract, records: list[dict], personal: tuple = ()
) -> None:
    """Answer ``records`` with the repo's model as the server does; log them in its format
    (``personal`` columns hashed, as the server does)."""
    model = model_io.load(repo / paths.MODEL)
    values = answers.outputs(model, validation.frame(records, contract), contract)
    answer = answers.answer(contract, values, 0.5)
    folder = predlog.env_dir(log_dir, "production")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / predlog.ACTIVE).open("a") as fh:
        rows = zip(records, answer.predictions, answer.logged_probabilities(), strict=True)
        for i, (features, prediction, probability) in enumerate(rows):
            rec = predlog.record(
                request_id=str(i),
                env="production",
                model_version="v1.0.0",
                route="stable",
                features=predlog.redact(features, personal, b"drift-test-key-16+"),
                prediction=prediction,
                probability=probability,
                latency_ms=1.0,
            )
            fh.write(json.dumps(rec) + "\n")


@pytest.mark.parametrize("task", TASKS)
def test_drift_per_task_on_traffic_made_from_the_table(task, adopted, tmp_path):
    repo = private_copy(adopted(task), tmp_path)
    deploy(repo, "production", "v1.0.0")
    contract = load_contract(repo)
    table = contract.read_table(repo / contract.data)
    results = {}
    for shift in (0.0, 1.5):
        logs = tmp_path / f"logs-{shift}"
        write_log(logs, repo, contract, traffic.records(table, contract, 400, seed=3, drift=shift))
        results[shift], files = drift.run(
            repo, "production", log_dir=logs, out_dir=tmp_path / f"out-{shift}"
        )
        assert files["html"].is_file() and files["prediction_html"].is_file()
    calm, drifted = results[0.0], results[1.5]
    assert [c.column for c in calm.columns] == list(contract.features)
    kinds = {c.column: c.kind for c in calm.columns}
    assert kinds == {c: "numeric" for c in contract.numeric} | {
        c: "categorical" for c in contract.categorical
    }
    assert calm.prediction.column == PREDICTION[task] and calm.prediction.kind == "prediction"
    assert not calm.dataset_drift, drift.markdown(calm)
    assert drifted.dataset_drift and drifted.drift, drift.markdown(drifted)
    assert PREDICTION[task] in drift.markdown(drifted)


def test_personal_columns_are_left_out_and_the_report_says_so(adopted, tmp_path):
    """A column the contract marks personal is logged as a hash: compared with the training
    values it would always 'drift'. It is skipped, by name, and calm traffic stays calm."""
    repo = private_copy(adopted("binary"), tmp_path)
    deploy(repo, "production", "v1.0.0")
    contract = load_contract(repo)
    personal = contract.numeric[0]  # a feature people decide is personal after training
    text = (repo / "contract.yaml").read_text()
    marked = [line.replace("{kind:", "{personal: true, kind:", 1)
              if line.strip().startswith(f"{personal}:") else line
              for line in text.splitlines()]  # fmt: skip
    (repo / "contract.yaml").write_text("\n".join(marked) + "\n")
    assert load_contract(repo).personal == (personal,)
    table = contract.read_table(repo / contract.data)
    records = traffic.records(table, contract, 400, seed=3)
    logs = tmp_path / "logs"
    write_log(logs, repo, contract, records, personal=(personal,))
    result, files = drift.run(repo, "production", log_dir=logs, out_dir=tmp_path / "out")
    assert result.skipped == [personal]
    assert personal not in [c.column for c in result.columns]
    assert [c.column for c in result.columns] == [f for f in contract.features if f != personal]
    assert not result.dataset_drift, drift.markdown(result)
    report = drift.markdown(result)
    assert f"Not compared: `{personal}`, marked `personal: true`" in report
    assert json.loads(files["json"].read_text())["skipped_personal_columns"] == [personal]
