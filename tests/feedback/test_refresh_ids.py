"""`mlops data refresh` on a table with an id column: the log never records the id, so a row the
table holds, scored in production and labelled, comes back without it. Compared on every column
the log records it is a repeat, skipped and counted; added, it would be identified by its
content and could land on the other side of the split (a copy of a holdout row in train)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
import yaml

from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from mlops.stages.split import row_ids
from tests.conftest import mlops, use_sample
from tests.feedback.conftest import write_log

pytestmark = pytest.mark.integration  # runs DVC: not the fast tier


def _with_ids(repo) -> pd.DataFrame:
    """The sample with a ``customer_id`` column the contract names as the row's identity."""
    path = repo / "data" / "churn.csv"
    table = pd.read_csv(path)
    table.insert(0, "customer_id", [f"c{i:05d}" for i in range(len(table))])
    table.to_csv(path, index=False)
    raw = yaml.safe_load((repo / "contract.yaml").read_text())
    raw["id"] = "customer_id"
    ident = {"kind": "category", "feature": False, "nullable": True, "max_null_share": 1}
    raw["columns"] = {"customer_id": ident, **raw["columns"]}
    (repo / "contract.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return table


def test_a_row_the_table_holds_comes_back_without_its_id_and_is_skipped(template_clone, tmp_path):
    repo, logs = use_sample(template_clone, rows=1000), tmp_path / "logs"
    table = _with_ids(repo)
    known = table.head(40)  # rows the table holds, scored in production (features only)
    fresh = generate(15, 9, 0.5)
    frame = pd.concat([known.drop(columns="customer_id"), fresh], ignore_index=True)
    features = frame[list(sample_contract().features)].astype(object)
    records = [{k: (None if v != v else v) for k, v in r.items()} for r in
               features.to_dict("records")]  # fmt: skip
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    ids = write_log(logs, "production", "v1.0.0", "stable", [0] * len(frame),
                    [0.1] * len(frame), features=records, ts=now)  # fmt: skip
    path = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ids, "churn": frame["churn"]}).to_csv(path, index=False)
    mlops(repo, "outcomes", "ingest", str(path), "--env", "production")

    args = ["data", "refresh", "--env", "production", "--log-dir", str(logs), "--json"]
    done = json.loads(mlops(repo, *args).stdout)
    assert (done["rows_added"], done["duplicates_skipped"]) == (15, 40)
    after = pd.read_csv(repo / "data" / "churn.csv")
    assert len(after) == 1015 and after["customer_id"].tail(15).isna().all()
    # what the skipped rows would have been: identified by their content, not their id, so
    # the split would have put them apart from the rows they copy
    from mlops.formats.contract import load_contract

    contract = load_contract(repo)
    copies = known.assign(customer_id=None)
    assert not set(row_ids(copies, contract)) & set(row_ids(known, contract))
