"""`mlops data refresh`: current data + labelled traffic, validated, `dvc add`, never twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import yaml

from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from tests.conftest import mlops
from tests.feedback.conftest import write_log

pytestmark = pytest.mark.integration  # runs the pipeline or DVC: not the fast tier


def _traffic(logs, n, seed, prefix, ts, drift=0.0):
    frame = generate(n, seed, drift)
    features = frame[list(sample_contract().features)]
    records = [{k: (None if v != v else v) for k, v in r.items()} for r in
               features.to_dict("records")]  # fmt: skip
    ids = write_log(logs, "production", "v1.0.0", "stable", [0] * n, [0.1] * n,
                    prefix=prefix, features=records, ts=ts)  # fmt: skip
    return ids, frame


def _ingest(repo, tmp_path, name, ids, labels):
    path = tmp_path / name
    pd.DataFrame({"request_id": ids, "churn": labels}).to_csv(path, index=False)
    mlops(repo, "outcomes", "ingest", str(path), "--env", "production")


def _md5(repo):
    return yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["md5"]


def test_refresh_adds_labelled_traffic_once_within_window_and_cap(sample_copy, tmp_path):
    repo, logs = sample_copy, tmp_path / "logs"
    text = (repo / "params.yaml").read_text().replace("max_rows: 100000", "max_rows: 150")
    (repo / "params.yaml").write_text(text)
    now = datetime.now(UTC)
    recent = (now - timedelta(days=1)).isoformat(timespec="milliseconds")
    old = (now - timedelta(days=90)).isoformat(timespec="milliseconds")
    old_ids, _ = _traffic(logs, 40, 1, "old", old)  # outside the 30-day window
    ids, frame = _traffic(logs, 200, 2, "new", recent)
    _ingest(repo, tmp_path, "a.csv", ids[:120] + old_ids, [*frame["churn"][:120], *[1] * 40])
    before = _md5(repo)
    args = ["data", "refresh", "--env", "production", "--log-dir", str(logs)]
    done = json.loads(mlops(repo, *args, "--json").stdout)
    assert done["changed"] and done["rows_before"] == 1000 and done["rows_added"] == 120
    assert done["rows_dropped"] == 0 and done["recency"] == "every row, equal weights"
    assert done["labelled_available"] == 120  # the 40 old ones are outside the window
    table = pd.read_csv(repo / "data" / "churn.csv")
    assert len(table) == 1120 and _md5(repo) != before
    pd.testing.assert_frame_equal(
        table.tail(120).reset_index(drop=True)[frame.columns],
        frame.head(120).reset_index(drop=True), check_dtype=False,
    )  # fmt: skip
    assert mlops(repo, "data", "restore").returncode == 0  # data/ is exactly what data.dvc pins
    state = json.loads((repo / "data" / "refresh.json").read_text())
    assert state["traffic"] == {"rows": 120, "table_rows": 1120}  # the newest 120 are traffic

    again = mlops(repo, *args)
    assert (
        "no new labelled traffic" in again.stdout
        and len(pd.read_csv(repo / "data/churn.csv")) == 1120
    )

    _ingest(repo, tmp_path, "b.csv", ids[120:], frame["churn"][120:])
    done = json.loads(mlops(repo, *args, "--json").stdout)
    assert done["rows_added"] == 80 and len(pd.read_csv(repo / "data/churn.csv")) == 1200
    state = json.loads((repo / "data" / "refresh.json").read_text())
    assert len(state["outcome_files"]["production"]) == 2
    assert state["traffic"] == {"rows": 200, "table_rows": 1200}  # counts add up over refreshes


def test_a_refresh_that_fails_the_contract_writes_nothing(sample_copy, tmp_path):
    repo, logs = sample_copy, tmp_path / "logs"
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    frame = generate(10, 3, 0.0)
    records = frame[list(sample_contract().features)].to_dict("records")
    for r in records:
        r["tenure_months"] = 500  # the contract allows 0..120
        r["total_charges"] = (
            None if r["total_charges"] != r["total_charges"] else r["total_charges"]
        )
    ids = write_log(logs, "production", "v1.0.0", "stable", [0] * 10, [0.1] * 10,
                    features=records, ts=now)  # fmt: skip
    _ingest(repo, tmp_path, "a.csv", ids, frame["churn"])
    before, table = _md5(repo), (repo / "data" / "churn.csv").read_bytes()
    done = mlops(repo, "data", "refresh", "--log-dir", str(logs), check=False)
    assert done.returncode == 1
    assert "column 'tenure_months': check in_range" in done.stderr
    assert "nothing was written" in done.stderr
    assert _md5(repo) == before and (repo / "data" / "churn.csv").read_bytes() == table
    assert not (repo / "data" / "refresh.json").exists()


def test_labelled_rows_the_table_already_holds_are_not_added_twice(sample_copy, tmp_path):
    """Traffic that repeats rows of the table (or itself) adds nothing but duplicates, which
    validate counts against max_duplicate_share: they are skipped and counted."""
    repo, logs = sample_copy, tmp_path / "logs"
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    table = sample_contract().read_table(repo / "data" / "churn.csv")
    known = table.head(50)
    fresh = generate(30, 9, 0.5)
    frame = pd.concat([known, fresh, fresh.head(1)], ignore_index=True)  # one fresh row twice
    features = frame[list(sample_contract().features)].astype(object)
    records = [{k: (None if v != v else v) for k, v in r.items()} for r in
               features.to_dict("records")]  # fmt: skip
    ids = write_log(logs, "production", "v1.0.0", "stable", [0] * len(frame),
                    [0.1] * len(frame), features=records, ts=now)  # fmt: skip
    _ingest(repo, tmp_path, "a.csv", ids, frame["churn"])
    args = ["data", "refresh", "--env", "production", "--log-dir", str(logs)]
    done = json.loads(mlops(repo, *args, "--json").stdout)
    assert (done["rows_added"], done["duplicates_skipped"]) == (30, 51)
    assert len(pd.read_csv(repo / "data" / "churn.csv")) == 1030
    again = mlops(repo, *args)
    assert "no new labelled traffic from production; data/churn.csv unchanged" in again.stdout


def test_keep_rows_drops_the_oldest_rows_and_says_so(sample_copy, tmp_path):
    """refresh.keep_rows: the table keeps its newest rows, so train and holdout follow them."""
    repo, logs = sample_copy, tmp_path / "logs"
    text = (repo / "params.yaml").read_text().replace("keep_rows: 0", "keep_rows: 1050")
    (repo / "params.yaml").write_text(text)
    recent = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="milliseconds")
    ids, frame = _traffic(logs, 100, 3, "new", recent)
    _ingest(repo, tmp_path, "a.csv", ids, list(frame["churn"]))
    before = pd.read_csv(repo / "data" / "churn.csv")
    args = ["data", "refresh", "--env", "production", "--log-dir", str(logs)]
    out = mlops(repo, *args).stdout
    assert "1,000 -> 1,050 rows" in out and "the oldest 50 dropped out (refresh.keep_rows)" in out
    table = pd.read_csv(repo / "data" / "churn.csv")
    assert len(table) == 1050
    pd.testing.assert_frame_equal(table.head(950), before.tail(950).reset_index(drop=True))
