"""Prediction-log hygiene: personal columns hashed with a secret key (or left out without
one), rotated files deleted by age."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import yaml

from mlops.formats import predlog
from mlops.formats.contract import Contract
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


KEY = b"a-secret-of-16+chars"


def test_redact_hashes_values_keeps_equal_values_equal():
    row = {"email": "a@b.org", "x": 1.5, "zip": None}
    out = predlog.redact(row, ["email", "zip"], KEY)
    assert out["x"] == 1.5 and out["zip"] is None and row["email"] == "a@b.org"
    assert out["email"].startswith("sha256:") and len(out["email"]) == 7 + 16
    assert out["email"] == predlog.redact({"email": "a@b.org"}, ["email"], KEY)["email"]
    other = predlog.redact(row, ["email"], b"another-secret-16+chars")["email"]
    assert other != out["email"] and "a@b.org" not in other


def test_the_hash_is_keyed_so_a_dictionary_of_ages_does_not_reverse_it():
    # an unkeyed hash of an age falls to hashing 0..120; without the key that is impossible
    logged = predlog.hash_value(37, KEY)
    unkeyed = {hashlib.sha256(str(age).encode()).hexdigest()[:16]: age for age in range(121)}
    assert logged.removeprefix("sha256:") not in unkeyed
    guessed = {predlog.hash_value(age, b"a-guessed-key-16chars"): age for age in range(121)}
    assert logged not in guessed
    assert predlog.hash_value(37, KEY) == logged  # the same key: the same hash (counts, joins)


def test_values_of_different_json_types_never_hash_alike():
    hashes = [predlog.hash_value(v, KEY) for v in (1, "1", True, "true", [1], "[1]", None)]
    assert len(set(hashes)) == len(hashes)
    # JSON has one number type: 1 and 1.0 are the same value in a request
    assert predlog.hash_value(1, KEY) == predlog.hash_value(1.0, KEY)
    assert predlog.hash_value(1.5, KEY) != predlog.hash_value("1.5", KEY)


def test_without_a_usable_key_personal_columns_are_left_out(monkeypatch):
    row = {"email": "a@b.org", "x": 1.5}
    assert predlog.redact(row, ["email"], None) == {"x": 1.5}
    for value in ("", "short-key"):  # unset, or shorter than 16 characters
        monkeypatch.setenv(predlog.HASH_KEY_ENV, value)
        assert predlog.hash_key() is None
        problem = predlog.key_problem(["email"])
        assert "email" in problem and predlog.HASH_KEY_ENV in problem
        assert "left out of the prediction log" in problem
    monkeypatch.setenv(predlog.HASH_KEY_ENV, KEY.decode())
    assert predlog.hash_key() == KEY and predlog.key_problem(["email"]) is None
    assert predlog.key_problem([]) is None  # nothing personal: nothing to say


def _submit(log: PredictionLog, rows: list[dict], personal: tuple[str, ...] = ()) -> None:
    log.submit("req", "v1.0.0", "stable", rows, [1] * len(rows), [0.9] * len(rows), 1.0,
               personal=personal)  # fmt: skip


def _logged(folder) -> list[dict]:
    text = (folder / "production" / predlog.ACTIVE).read_text()
    return [orjson.loads(line) for line in text.splitlines()]


def test_the_server_log_never_holds_a_personal_value(tmp_path, monkeypatch):
    monkeypatch.setenv(predlog.HASH_KEY_ENV, KEY.decode())
    log = PredictionLog(tmp_path, "production", 1.0, 10**6, personal=("email",))
    log.start()
    _submit(log, [{"email": "jane@example.com", "x": 1.0}])
    log.stop()
    assert "jane@example.com" not in (tmp_path / "production" / predlog.ACTIVE).read_text()
    (rec,) = _logged(tmp_path)
    assert rec["features"]["email"] == predlog.hash_value("jane@example.com", KEY)


def test_without_the_key_the_log_leaves_them_out_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(predlog.HASH_KEY_ENV, raising=False)
    log = PredictionLog(tmp_path, "production", 1.0, 10**6, personal=("email",))
    log.start()
    started = capsys.readouterr().err
    assert f"${predlog.HASH_KEY_ENV} is not set" in started and "email" in started
    # a column only the served version's contract marks personal: announced when first seen
    _submit(log, [{"email": "jane@example.com", "age": 37, "x": 1.0}], personal=("age",))
    _submit(log, [{"email": "joe@example.com", "age": 41, "x": 2.0}], personal=("age",))
    log.stop()
    assert [rec["features"] for rec in _logged(tmp_path)] == [{"x": 1.0}, {"x": 2.0}]
    later = capsys.readouterr().err
    assert later.count("personal column(s) age ") == 1


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
