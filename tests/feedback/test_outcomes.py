"""`mlops outcomes ingest`: checked against the contract, stored whole or not at all, in DVC."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from mlops.core.errors import DataValidationError
from mlops.feedback import join, outcomes
from mlops.formats import predlog
from mlops.formats.contract import load_contract
from tests.conftest import dvc, mlops
from tests.feedback.conftest import sample_build, write_log
from tests.feedback.contracts import contract


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A copy of the sample's repository (tests.feedback.conftest); the refusal tests leave it
    untouched."""
    return sample_build(tmp_path_factory)


@pytest.fixture
def fresh(sample_copy):
    return sample_copy


@pytest.mark.integration  # slower than the fast tier
def test_ingest_stores_a_dvc_tracked_file_and_latest_wins(fresh, tmp_path):
    repo = fresh
    first = tmp_path / "first.csv"
    first.write_text("request_id,churn\nr1,1\nr2,0\nr3,1\n")
    done = mlops(repo, "outcomes", "ingest", str(first), "--env", "production")
    assert "stored 3 outcome(s) for production" in done.stdout
    stored = outcomes.files(repo, "production")
    assert len(stored) == 1 and stored[0].parent == repo / "outcomes" / "production"
    pinned = yaml.safe_load((repo / "outcomes.dvc").read_text())["outs"][0]
    assert pinned["path"] == "outcomes" and pinned["nfiles"] == 1
    assert "/outcomes" in (repo / ".gitignore").read_text()
    assert dvc(repo, "status", "outcomes.dvc").stdout.strip().endswith("up to date.")

    second = tmp_path / "second.parquet"
    pd.DataFrame({"request_id": ["r2", "r4"], "row": [0, 0], "churn": [1, 0]}).to_parquet(second)
    mlops(repo, "outcomes", "ingest", str(second), "--env", "production")
    loaded = outcomes.load(repo, "production", load_contract(repo))
    assert dict(zip(loaded.request_id, loaded.churn, strict=True)) == {
        "r1": 1, "r2": 1, "r3": 1, "r4": 0
    }  # fmt: skip
    assert yaml.safe_load((repo / "outcomes.dvc").read_text())["outs"][0]["nfiles"] == 2


def test_a_bad_file_is_refused_whole_with_every_problem(repo, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("request_id,churn\nr1,1\n,0\nr3,2\nr3,yes\nr5,\n")
    done = mlops(repo, "outcomes", "ingest", str(bad), "--env", "production", check=False)
    assert done.returncode == 1
    err = done.stderr
    assert f"{bad}: not a valid outcome file" in err and "nothing was stored" in err
    assert "column 'request_id': empty in 1 row(s), lines 3" in err
    assert "column 'churn': 2 value(s) are not a class of the contract [0, 1] (lines 4, 5)" in err
    assert "e.g. '2', 'yes'" in err
    assert "column 'churn': missing in 1 row(s), lines 6" in err
    assert not (repo / "outcomes").exists() and not (repo / "outcomes.dvc").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,churn\nr1,1\n", "missing column 'request_id'"),
        ("request_id,churn,email\nr1,1,a@b\n", "unknown column(s) ['email']"),
        ("request_id,churn\n", "no rows"),
        ("request_id,churn\nr1,1\nr1,0\n", "2 row(s) repeat a (request_id, row) pair"),
        ("request_id,row,churn\nr1,-1,1\n", "column 'row': not a whole number >= 0"),
    ],
)
def test_shape_problems_are_named(repo, tmp_path, text, expected):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    done = mlops(repo, "outcomes", "ingest", str(bad), "--env", "production", check=False)
    assert done.returncode == 1 and expected in done.stderr


def test_unknown_env_and_unreadable_file_exit_2(repo, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("request_id,churn\nr1,1\n")
    done = mlops(repo, "outcomes", "ingest", str(good), "--env", "nowhere", check=False)
    assert done.returncode == 2 and "unknown environment 'nowhere'" in done.stderr
    done = mlops(repo, "outcomes", "ingest", str(tmp_path / "x.csv"), "--env", "production",
                 check=False)  # fmt: skip
    assert done.returncode == 2 and "no such file" in done.stderr


@pytest.mark.parametrize(
    ("task", "good", "bad", "problem"),
    [
        ("binary", [1, 0], [1, 3], "not a class of the contract [0, 1]"),
        ("multiclass", ["a", "c"], ["a", "d"], "not a class of the contract ['a', 'b', 'c']"),
        ("regression", [1.5, -2], [1.5, "inf"], "not a finite number"),
    ],
)
def test_every_task(task, good, bad, problem):
    c = contract(task)
    stored = outcomes.check(pd.DataFrame({"request_id": ["a", "b"], "y": good}), c, "f")
    assert stored["y"].tolist() == good and stored["row"].tolist() == [0, 0]
    assert str(stored["y"].dtype) == c.target_dtype()
    with pytest.raises(DataValidationError, match=problem.replace("[", r"\[")):
        outcomes.check(pd.DataFrame({"request_id": ["a", "b"], "y": bad}), c, "f")


def _log_ids(repo, ids: list[str]) -> None:
    write_log(repo / "logs" / "predictions", "production", "v1.0.0", "stable", [1] * len(ids))
    # write_log names its requests r0, r1, ...: rename them to the ids the server answered with
    active = repo / "logs" / "predictions" / "production" / predlog.ACTIVE
    text = active.read_text()
    for i, rid in enumerate(ids):
        text = text.replace(f'"request_id": "r{i}"', f'"request_id": "{rid}"', 1)
    active.write_text(text)


def test_numeric_ids_keep_their_leading_zeros_and_join(fresh, tmp_path):
    _log_ids(fresh, ["00123", "00124"])
    file = tmp_path / "numeric.csv"
    file.write_text("request_id,churn\n00123,1\n00124,0\n")
    done = mlops(fresh, "outcomes", "ingest", str(file), "--env", "production", "--no-dvc")
    assert "all 2 outcome(s) match a logged prediction" in done.stdout
    loaded = outcomes.load(fresh, "production", load_contract(fresh))
    assert loaded.request_id.tolist() == ["00123", "00124"]
    logged = join.read_log(fresh / "logs" / "predictions", "production").frame
    labelled = join.label(logged, loaded, "churn")
    assert labelled.churn.tolist() == [1, 0]  # both predictions found their outcome


def test_outcomes_that_match_nothing_logged_are_counted(fresh, tmp_path):
    _log_ids(fresh, ["a-1"])
    file = tmp_path / "elsewhere.csv"
    file.write_text("request_id,churn\n123,1\n124,0\na-1,1\n")
    done = mlops(fresh, "outcomes", "ingest", str(file), "--env", "production", "--no-dvc",
                 "--json")  # fmt: skip
    result = json.loads(done.stdout)
    assert result["rows"] == 3
    assert result["join"]["joined"] == 1 and result["join"]["not_joined"] == 2
    assert result["join"]["examples"] == ["123", "124"]
    again = tmp_path / "only-unknown.csv"
    again.write_text("request_id,churn\n9,1\n")
    done = mlops(fresh, "outcomes", "ingest", str(again), "--env", "production", "--no-dvc")
    assert "1 of 1 outcome(s) did not join" in done.stdout and "'9'" in done.stdout


def test_without_a_log_the_join_is_not_checked_and_that_is_said(fresh, tmp_path):
    file = tmp_path / "o.csv"
    file.write_text("request_id,churn\nr1,1\n")
    done = mlops(fresh, "outcomes", "ingest", str(file), "--env", "production", "--no-dvc")
    assert "stored 1 outcome(s)" in done.stdout
    assert "no prediction log of production in logs/predictions" in done.stdout


def test_a_parquet_file_of_integer_ids_is_read_as_text():
    ids = outcomes.check(
        pd.DataFrame({"request_id": [7, 8], "y": [1, 0]}), contract("binary"), "x.parquet"
    ).request_id
    assert ids.tolist() == ["7", "8"]
