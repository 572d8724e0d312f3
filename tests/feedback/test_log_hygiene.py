"""Prediction-log hygiene: personal columns hashed, rotated files deleted by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import yaml

from mlops import predlog
from mlops.contract import Contract
from mlops.serve.predlog_writer import PredictionLog, hygiene
from tests.conftest import mlops
from tests.feedback.contracts import contract


def test_contract_marks_personal_columns():
    raw = contract("binary").to_dict()
    raw["columns"]["email"] = {"kind": "category", "feature": False, "personal": True}
    c = Contract.from_dict(raw)
    assert c.personal == ("email",)
    assert Contract.from_dict(c.to_dict()).personal == ("email",)
    assert contract("binary").personal == ()


def test_redact_hashes_values_keeps_equal_values_equal():
    row = {"email": "a@b.org", "x": 1.5, "zip": None}
    out = predlog.redact(row, ["email", "zip"])
    assert out["x"] == 1.5 and out["zip"] is None and row["email"] == "a@b.org"
    assert out["email"].startswith("sha256:") and len(out["email"]) == 7 + 16
    assert out["email"] == predlog.redact({"email": "a@b.org"}, ["email"])["email"]
    keyed = predlog.redact(row, ["email"], key=b"secret")["email"]
    assert keyed != out["email"] and "a@b.org" not in keyed


def _submit(log: PredictionLog, rows: list[dict]) -> None:
    log.submit("req", "v1.0.0", "stable", rows, [1] * len(rows), [0.9] * len(rows), 1.0)


def test_the_server_log_never_holds_a_personal_value(tmp_path, monkeypatch):
    monkeypatch.setenv(predlog.HASH_KEY_ENV, "k")
    log = PredictionLog(tmp_path, "production", 1.0, 10**6, personal=("email",))
    log.start()
    _submit(log, [{"email": "jane@example.com", "x": 1.0}])
    log.stop()
    text = (tmp_path / "production" / predlog.ACTIVE).read_text()
    assert "jane@example.com" not in text
    rec = orjson.loads(text.splitlines()[0])
    assert rec["features"]["email"] == predlog.hash_value("jane@example.com", b"k")


def test_rotation_deletes_files_older_than_the_retention(tmp_path):
    folder = tmp_path / "production"
    folder.mkdir()
    now = datetime.now(UTC)
    old = folder / predlog.rotated_name(now - timedelta(days=40))
    recent = folder / predlog.rotated_name(now - timedelta(days=2))
    for path in (old, recent):
        path.write_text('{"ts": "x"}\n')
    (folder / predlog.ACTIVE).write_text("x" * 200 + "\n")
    log = PredictionLog(tmp_path, "production", 1.0, 100, retention=timedelta(days=30))
    log.start()
    _submit(log, [{"x": 1.0}])  # the active file is over 100 bytes: this rotates it
    log.stop()
    names = {p.name for p in folder.glob("predictions*.jsonl")}
    assert old.name not in names and recent.name in names and len(names) == 3


def test_settings_from_the_repository_and_prune_command(sample_repo, tmp_path):
    settings = hygiene(sample_repo, "production")
    assert settings["retention"] == timedelta(days=30)
    assert settings["personal"] == ()
    folder = tmp_path / "logs" / "staging"
    folder.mkdir(parents=True)
    old = folder / predlog.rotated_name(datetime.now(UTC) - timedelta(days=3))
    old.write_text("{}\n")
    (folder / predlog.ACTIVE).write_text("{}\n")
    done = mlops(sample_repo, "logs", "prune", "--env", "staging", "--days", "1",
                 "--log-dir", str(tmp_path / "logs"))  # fmt: skip
    assert "deleted 1 rotated file(s) older than 1 days" in done.stdout
    assert not old.exists() and (folder / predlog.ACTIVE).exists()
    env_file = yaml.safe_load((sample_repo / "environments" / "production.yaml").read_text())
    assert env_file["monitoring"]["log_retention_days"] == 30
