"""Champion against challenger on rows neither trained on, proven by the row identities each
version records (artifacts/split/row_ids.csv, pinned by its commit's dvc.lock)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlops.core import paths
from mlops.formats.schema import write_table
from tests.conftest import deploy_version, dvc, mlops

pytestmark = pytest.mark.integration


def _ids(text: str) -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


def _gate(repo: Path, cache: Path) -> dict:
    proc = mlops(repo, "gate", "--env", "production", "--json", check=False,
                 env={"XDG_CACHE_HOME": str(cache)})  # fmt: skip
    (verdict,) = json.loads(proc.stdout)
    return verdict["compared_with"]


def _split(repo: Path, **split) -> None:
    text = (repo / "params.yaml").read_text()
    for key, value in split.items():
        text = text.replace(f"  {key}: 42\n", f"  {key}: {value}\n")
    (repo / "params.yaml").write_text(text)


def _trained(repo: Path) -> tuple[pd.DataFrame, set[str]]:
    """Register and deploy HEAD's model as v1.0.0; its row identities and training-side rows."""
    deploy_version(repo, "v1.0.0", ("production",))
    live_ids = _ids((repo / paths.ROW_IDS).read_text())
    return live_ids, set(live_ids.loc[live_ids["side"] != "holdout", "row_id"])


def test_a_grown_table_keeps_old_holdout_rows_and_compares_on_all_of_them(repo, tmp_path):
    live_ids, live_trained = _trained(repo)
    # refresh: the table grows by 1,000 new rows; every old row keeps its side
    table = repo / "data" / "churn.csv"
    old = pd.read_csv(table)
    new = old.sample(1000, random_state=1).assign(tenure_months=lambda d: d["tenure_months"] + 1)
    table.unlink()  # never write through a link into the DVC cache
    write_table(pd.concat([old, new], ignore_index=True), table, float_format="%.2f")
    # no `dvc add` first: `dvc repro` commits the changed data source (data.dvc) itself
    dvc(repo, "repro")
    grown = _ids((repo / paths.ROW_IDS).read_text())
    assert grown.iloc[: len(live_ids)].equals(live_ids)  # refresh only added rows
    holdout = grown.loc[grown["side"] == "holdout", "row_id"]
    assert not set(holdout) & live_trained
    compared = _gate(repo, tmp_path / "cache")
    assert compared["same_rows"] and compared["row_count"] == len(holdout)
    assert f"{len(holdout):,} of {len(holdout):,} rows" in compared["rows"]


def test_a_new_split_seed_is_compared_on_the_rows_neither_trained_on(repo, tmp_path):
    _, live_trained = _trained(repo)
    # a new split seed: part of this holdout is what v1.0.0 trained on; those rows are left out
    _split(repo, seed=7)
    dvc(repo, "repro")
    reshuffled = _ids((repo / paths.ROW_IDS).read_text())
    holdout = reshuffled.loc[reshuffled["side"] == "holdout", "row_id"]
    neither = [i for i in holdout if i not in live_trained]
    assert 0 < len(neither) < len(holdout)
    compared = _gate(repo, tmp_path / "cache")
    assert compared["same_rows"] and compared["row_count"] == len(neither)
    assert f"{len(neither):,} of {len(holdout):,} rows" in compared["rows"]
    assert compared["candidate_metrics"] != json.loads((repo / paths.METRICS).read_text())
    assert set(compared["standard_errors"]) >= {"roc_auc", "f1"}
