"""`mlops drift` on real prediction logs against the deployed version's DVC-fetched reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mlops.formats import predlog
from mlops.monitoring import drift, drift_current
from tests.conftest import git, mlops
from tests.monitoring.conftest import VERSION, write_log

pytestmark = pytest.mark.integration


def test_drifted_traffic_is_detected(deployed_repo, tmp_path):
    logs = tmp_path / "logs"
    write_log(logs, deployed_repo, rows=2000, seed=11, drift=1.0)
    out = tmp_path / "report"
    proc = mlops(
        deployed_repo,
        "drift",
        "--env",
        "production",
        "--log-dir",
        str(logs),
        "--out-dir",
        str(out),
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Drift in production: DRIFT" in proc.stdout
    result = json.loads((out / "drift.json").read_text())
    assert result["drift"] is True and result["dataset_drift"] is True
    assert result["version"] == VERSION
    # the generator's drift mode moves these; the summary names them
    assert {"contract", "support_tickets", "region"} <= set(result["drifted_columns"])
    assert result["prediction_drift"]["drifted"] is True
    assert result["current"]["rows_used"] == 2000 and result["current"]["sample_rate"] == 1.0
    tagged = git(deployed_repo, "rev-list", "-n1", "churn-model@v1.0.0")
    assert result["reference"]["commit"] == tagged
    md = (out / "drift.md").read_text()
    assert "| contract | categorical |" in md and "drift_share" in md
    assert (out / "drift.html").stat().st_size > 10_000
    assert (out / "prediction_drift.html").is_file()


def test_stable_traffic_is_not_flagged(deployed_repo, tmp_path):
    logs = tmp_path / "logs"
    write_log(logs, deployed_repo, rows=2000, seed=12345, drift=0.0)
    result, files = drift.run(deployed_repo, "production", log_dir=logs, out_dir=tmp_path / "r")
    assert result.drift is False and result.exit_code == 0
    assert result.share < result.drift_share
    assert result.prediction.drifted is False
    assert "Drift in production: no drift" in files["markdown"].read_text()


def test_large_logs_are_sampled_and_the_rate_recorded(deployed_repo, tmp_path):
    logs = tmp_path / "logs"
    write_log(
        logs,
        deployed_repo,
        rows=1500,
        seed=3,
        drift=0.0,
        name=predlog.rotated_name(datetime(2026, 1, 1, tzinfo=UTC)),
    )
    write_log(logs, deployed_repo, rows=1500, seed=4, drift=0.0)
    result, files = drift.run(
        deployed_repo, "production", max_rows=1000, log_dir=logs, out_dir=tmp_path / "r"
    )
    assert result.current["rows_matched"] == 3000 and result.current["rows_used"] == 1000
    assert result.current["sample_rate"] == pytest.approx(1 / 3, abs=1e-5)
    assert "sample rate 0.3333" in files["markdown"].read_text()


def test_only_the_stable_version_and_the_since_window_count(deployed_repo, tmp_path):
    logs = tmp_path / "logs"
    write_log(logs, deployed_repo, rows=1000, seed=5, drift=1.0, version="v0.9.0")
    write_log(logs, deployed_repo, rows=1000, seed=6, drift=0.0)
    result, _ = drift.run(
        deployed_repo, "production", since="1h", log_dir=logs, out_dir=tmp_path / "r"
    )
    assert result.current["rows_matched"] == 1000
    assert result.current["records_by_version"] == {"v0.9.0": 1000, VERSION: 1000}
    assert result.drift is False


def test_empty_log_is_nothing_to_compare_yet_and_exits_0(deployed_repo, tmp_path):
    # a deployed version that has served nothing yet: a scheduled monitor stays green, says so
    (tmp_path / "logs" / "production").mkdir(parents=True)
    (tmp_path / "logs" / "production" / predlog.ACTIVE).write_text("")
    args = ("drift", "--env", "production", "--log-dir", str(tmp_path / "logs"))
    proc = mlops(deployed_repo, *args, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "## Drift in production: nothing to compare yet" in proc.stdout
    assert "prediction log is empty" in proc.stdout and "--log-dir" in proc.stdout
    as_json = json.loads(mlops(deployed_repo, *args, "--json").stdout)
    assert as_json["drift"] is None and "prediction log is empty" in as_json["reason"]


def test_logs_of_another_schema_are_a_clear_error(deployed_repo, tmp_path):
    folder = tmp_path / "logs" / "production"
    folder.mkdir(parents=True)
    rec = predlog.record(
        request_id="1",
        env="production",
        model_version=VERSION,
        route="stable",
        features={"age": 3, "plan": "gold"},
        prediction=0,
        probability=0.2,
        latency_ms=1.0,
    )
    (folder / predlog.ACTIVE).write_text(json.dumps(rec) + "\n")
    with pytest.raises(drift.DriftInputError) as info:
        drift.run(deployed_repo, "production", log_dir=tmp_path / "logs", out_dir=tmp_path / "r")
    assert "unknown columns ['age', 'plan']" in str(info.value)
    assert "missing columns" in str(info.value) and "schema" in str(info.value)
    assert info.value.exit_code == 2


def test_a_log_line_that_is_not_an_object_is_a_clear_error(tmp_path):
    folder = tmp_path / "logs" / "production"
    folder.mkdir(parents=True)
    (folder / predlog.ACTIVE).write_text("[1, 2]\n")
    with pytest.raises(drift.DriftInputError, match="record 1 is not a JSON object") as info:
        drift_current.load_current(tmp_path / "logs", "production", VERSION)
    assert info.value.exit_code == 2


def test_since_matching_nothing_is_a_clear_error(deployed_repo, tmp_path):
    logs = tmp_path / "logs"
    write_log(logs, deployed_repo, rows=200, seed=7, drift=0.0)
    later = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(drift.DriftInputError, match=r"--since.*matches none of the 200 records"):
        drift_current.load_current(logs, "production", VERSION, since=timedelta(hours=1), now=later)
    with pytest.raises(drift.DriftInputError, match="not a duration"):
        drift.run(deployed_repo, "production", since="banana", log_dir=logs)


def test_unfetchable_reference_is_a_clear_error(repo, tmp_path):
    import shutil

    from tests.monitoring.conftest import register_and_deploy

    register_and_deploy(repo)
    logs = tmp_path / "logs"
    write_log(logs, repo, rows=200, seed=8, drift=0.0)
    # the reference exists nowhere: no cache, an empty remote
    shutil.rmtree(repo / ".dvc" / "cache")
    shutil.rmtree(tmp_path / "remote")
    (tmp_path / "remote").mkdir()
    with pytest.raises(drift.DriftInputError) as info:
        drift.run(repo, "production", log_dir=logs, out_dir=tmp_path / "r")
    assert "cannot fetch the reference artifacts/split/train.csv" in str(info.value)
    assert "dvc push" in str(info.value)


def test_nothing_deployed_is_nothing_to_compare_yet(built_repo, tmp_path):
    with pytest.raises(drift.NothingToCompare, match="nothing is deployed to 'production'") as e:
        drift.run(built_repo, "production", log_dir=tmp_path)
    assert e.value.exit_code == 0
    proc = mlops(built_repo, "drift", "--env", "production", "--log-dir", str(tmp_path))
    assert "nothing to compare yet" in proc.stdout and "mlops promote production" in proc.stdout
