"""`mlops outcomes ingest`: checked against the contract, stored whole or not at all, in DVC."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from mlops.contract import load_contract
from mlops.errors import DataValidationError
from mlops.feedback import outcomes
from tests.conftest import dvc, mlops, new_clone, use_sample
from tests.feedback.contracts import contract


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A template clone with the sample's contract; the refusal tests leave it untouched."""
    base = tmp_path_factory.mktemp("outcomes")
    return use_sample(new_clone(base / "repo", base / "remote"), rows=1000)


@pytest.fixture
def fresh(template_clone):
    return use_sample(template_clone, rows=1000)


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
