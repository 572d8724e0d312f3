"""`mlops drift` reports a canary and a shadow beside the stable, from a log written by the
server's own logging code (``PredictionLog``) with real models' scores: the shadow compared with
the stable on the very requests it scored beside the answer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

from mlops.core import paths
from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from mlops.model import model_io
from mlops.serve.predlog_writer import PredictionLog
from tests.conftest import git, mlops, private_copy
from tests.monitoring.conftest import MODEL, VERSION

pytestmark = pytest.mark.integration
SHADOW, CANARY = "v1.1.0", "v1.2.0"


def _other_model(repo):
    """A real, different model of the same pipeline: refitted on 400 training rows."""
    contract = sample_contract()
    train = contract.read_table(repo / paths.TRAIN).head(400)
    model = model_io.load(repo / paths.MODEL)
    return clone(model).fit(train[list(contract.features)], train[contract.target])


def _rows(seed: int, n: int) -> tuple[list[dict], object]:
    frame = generate(n, seed, 0.0)[list(sample_contract().features)]
    records = [{k: (None if v != v else v) for k, v in r.items()} for r in frame.to_dict("records")]
    return records, frame


def _log(logs, stable, other) -> dict[str, np.ndarray]:
    """600 stable answers (the first 500 with the other model as shadow beside them), 300
    canary answers of the other model, as `mlops serve` logs them; returns what was logged."""
    writer = PredictionLog(logs, "production", sample_rate=1.0, max_bytes=10**9)
    writer.start()
    records, frame = _rows(21, 600)
    live = stable.predict_proba(frame)[:, 1]
    shadow = other.predict_proba(frame)[:, 1]
    for i, (rec, p, s) in enumerate(zip(records, live, shadow, strict=True)):
        beside = [{"model_version": SHADOW, "prediction": int(s >= 0.5), "probability": s}]
        writer.submit(f"r-{i}", VERSION, "stable", [rec], [int(p >= 0.5)], [p], 1.0,
                      shadow=beside if i < 500 else None)  # fmt: skip
    canary_records, canary_frame = _rows(22, 300)
    canary = other.predict_proba(canary_frame)[:, 1]
    for i, (rec, p) in enumerate(zip(canary_records, canary, strict=True)):
        writer.submit(f"c-{i}", CANARY, "canary", [rec], [int(p >= 0.5)], [p], 1.0)
    writer.stop()
    assert writer.written == 900
    return {"live": live[:500], "shadow": shadow[:500], "canary": canary}


def test_drift_reports_the_shadow_on_the_stables_requests_and_the_canary(deployed_repo, tmp_path):
    repo = private_copy(deployed_repo.parent, tmp_path / "copy")
    message = git(repo, "tag", "-l", "--format=%(contents)", f"{MODEL}@{VERSION}")
    git(repo, "tag", "-a", f"{MODEL}@{SHADOW}", "-m", message)  # its holdout is fetchable
    stable = model_io.load(repo / paths.MODEL)
    logged = _log(tmp_path / "logs", stable, _other_model(repo))
    out = tmp_path / "report"
    proc = mlops(repo, "drift", "--env", "production", "--log-dir", str(tmp_path / "logs"),
                 "--out-dir", str(out), "--json", check=False)  # fmt: skip
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    routes = {r["route"]: r for r in result["routes"]}
    assert [r["route"] for r in result["routes"]] == ["stable", "canary", "shadow"]
    assert routes["stable"]["rows"] == 600 and routes["stable"]["version"] == VERSION
    assert routes["stable"]["versus_holdout"] == result["prediction_drift"]

    shadow = routes["shadow"]
    assert shadow["version"] == SHADOW and shadow["rows"] == 500  # only requests it scored
    paired_agreement = np.mean((logged["shadow"] >= 0.5) == (logged["live"] >= 0.5))
    assert 0 < paired_agreement < 1  # a different model: the check below can tell
    assert shadow["agreement"] == pytest.approx(paired_agreement, abs=1e-6)
    shift = np.mean(np.round(logged["shadow"], 6) - np.round(logged["live"], 6))
    assert shadow["mean_shift"] == pytest.approx(shift, abs=1e-6)
    assert shadow["summary"]["mean"] == pytest.approx(logged["shadow"].mean(), abs=1e-4)
    assert shadow["versus_stable"]["test"] and shadow["versus_holdout"]["test"]

    canary = routes["canary"]
    assert canary["version"] == CANARY and canary["rows"] == 300
    assert canary["summary"]["p50"] == pytest.approx(np.median(logged["canary"]), abs=1e-4)
    assert canary["agreement"] is None and canary["versus_stable"]["test"]
    assert canary["versus_holdout"] is None and "no holdout reference" in canary["notes"][0]

    # the stable's own drift verdict is unchanged by what stood beside it
    assert result["current"]["rows_matched"] == 600
    md = (out / "drift.md").read_text()
    assert "Beside the stable v1.0.0" in md
    assert f"| shadow | {SHADOW} | 500 |" in md and f"| canary | {CANARY} | 300 |" in md
    assert json.loads((out / "drift.json").read_text())["routes"] == result["routes"]


def test_without_a_canary_or_shadow_there_is_no_section(deployed_repo, tmp_path):
    from mlops.monitoring import drift
    from tests.monitoring.conftest import write_log

    write_log(tmp_path / "logs", deployed_repo, rows=300, seed=5, drift=0.0)
    result, files = drift.run(
        deployed_repo, "production", log_dir=tmp_path / "logs", out_dir=tmp_path / "r"
    )
    assert result.routes == [] and result.to_dict()["routes"] == []
    assert "Beside the stable" not in files["markdown"].read_text()
