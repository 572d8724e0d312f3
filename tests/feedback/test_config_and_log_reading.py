"""environments/<env>.yaml monitoring keys; the log reader's two paths agree."""

from __future__ import annotations

import orjson
import pytest

from mlops.core.errors import ConfigError
from mlops.feedback import join
from mlops.formats import environments
from tests.feedback.conftest import write_log


def test_monitoring_keys_parse_and_refuse_bad_values():
    env = environments.parse(
        {"monitoring": {"min_live": {"roc_auc": 0.7}, "min_outcomes": 50,
                        "log_retention_days": None}}, "production", "environments/p.yaml"
    )  # fmt: skip
    assert env.monitoring.min_live == {"roc_auc": 0.7} and env.monitoring.min_outcomes == 50
    assert env.monitoring.log_retention_days is None and env.drift_share == 0.3
    with pytest.raises(ConfigError, match=r"environments/p\.yaml: monitoring\.min_outcomes = 0"):
        environments.parse({"monitoring": {"min_outcomes": 0}}, "p", "environments/p.yaml")
    with pytest.raises(ConfigError, match=r"monitoring\.min_live\.roc_auc = 'high'"):
        environments.parse({"monitoring": {"min_live": {"roc_auc": "high"}}}, "p", "e.yaml")


def test_a_line_cut_short_is_skipped_and_both_readers_agree(tmp_path):
    features = [{"x": float(i), "colour": "red"} for i in range(5)]
    write_log(tmp_path, "production", "v1", "stable", [0, 1, 0, 1, 1], [0.1] * 5,
              features=features)  # fmt: skip
    path = tmp_path / "production" / "predictions.jsonl"
    arrow = join._arrow_frame(path, features=True)
    with path.open("a") as fh:
        fh.write('{"ts": "2026-11-20T12:00:00.000+00:00", "request_id": "cut')  # a crash
    logged = join.read_log(tmp_path, "production", features=True)
    assert logged.records == 5
    python = join._python_frame(path, features=True)
    for frame in (logged.frame, python):
        assert frame["request_id"].tolist() == arrow["request_id"].tolist()
        assert frame["x"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert frame["prediction"].tolist() == [0, 1, 0, 1, 1]


def test_a_record_without_the_format_fields_is_an_error(tmp_path):
    (tmp_path / "production").mkdir()
    (tmp_path / "production" / "predictions.jsonl").write_text('{"ts": "x", "foo": 1}\n')
    with pytest.raises(join.LogError, match="records lack"):
        join.read_log(tmp_path, "production")


def test_multiclass_class_probabilities_are_read_by_both_readers(tmp_path):
    from mlops.formats import predlog

    folder = predlog.env_dir(tmp_path, "production")
    folder.mkdir(parents=True)
    lines = [
        orjson.dumps(predlog.record(
            request_id=f"r{i}", env="production", model_version="v1.0.0", route="stable",
            features={"x": i}, prediction="b", probability=0.7, latency_ms=1.0,
            probabilities=[0.2, 0.7, 0.1],
        )).decode()
        for i in range(3)
    ]  # fmt: skip
    (folder / "predictions-20261120T120000000000Z.jsonl").write_text("\n".join(lines) + "\n")
    (folder / predlog.ACTIVE).write_text(lines[0].replace("r0", "r9") + "\n" + lines[1][:40])
    frame = join.read_log(tmp_path, "production").frame  # Arrow, then the line-by-line reader
    assert frame["request_id"].tolist() == ["r0", "r1", "r2", "r9"]
    assert [list(p) for p in frame[join.CLASS_PROBABILITIES]] == [[0.2, 0.7, 0.1]] * 4
