"""Adopt writes the id column it detects as contract.yaml ``id`` and says how outcomes join;
rows without an id (added from live traffic) are identified by their content."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import yaml

from mlops.data.infer import infer_contract
from mlops.formats.contract import Contract, dump
from mlops.stages import split
from tests.adopt import tables


def _infer(df, target="bought"):
    return infer_contract(df, target=target, data="data/t.csv", name="t-model")


def test_a_unique_id_column_becomes_the_contracts_id_and_adopt_says_how_outcomes_join():
    got = _infer(tables.binary())
    assert got.contract.id_column == "customer_id"
    written = yaml.safe_load(dump(got.contract, "# header\n"))
    assert written["id"] == "customer_id" and not written["columns"]["customer_id"]["feature"]
    assert Contract.from_dict(written).id_column == "customer_id"  # the loader reads it back
    notes = "\n".join(got.notes)
    assert "column 'customer_id': the row id (contract.yaml id)" in notes
    assert "send a row's customer_id as X-Request-ID" in notes
    assert "an outcome file's request_id is its customer_id" in notes


def test_no_id_when_the_id_like_column_repeats_or_has_gaps_and_the_named_one_wins():
    df = tables.binary()
    repeated = df.assign(customer_id=[f"c{i // 2:05d}" for i in range(len(df))])
    assert _infer(repeated).contract.id_column is None  # two rows share an id: not a row id
    gaps = df.assign(customer_id=df["customer_id"].where(df.index % 50 != 0))
    assert _infer(gaps).contract.id_column is None
    two = df.assign(ticket=[f"t{i * 7:06d}" for i in range(len(df))])[
        ["ticket", *df.columns]
    ]  # an id-like column first, the one named like an id second
    assert _infer(two).contract.id_column == "customer_id"
    without = df.drop(columns="customer_id")
    assert _infer(without).contract.id_column is None
    assert "row id" not in "\n".join(_infer(without).notes)


def test_rows_without_an_id_keep_distinct_identities_from_their_content():
    """Rows `mlops data refresh` adds carry no id (the log never holds it): each is identified
    by its content, so they spread over train and holdout instead of sharing one side."""
    df = tables.binary(2000)
    c = _infer(df).contract
    fresh = df.sample(400, random_state=3).assign(customer_id=np.nan)
    fresh["age"] += 0.05  # other rows than the table's
    grown = pd.concat([df, fresh], ignore_index=True)
    ids = split.row_ids(grown, c)
    assert (ids[: len(df)] == split.row_ids(df, c)).all()  # the table's rows keep their ids
    added = ids[len(df) :]
    assert len(set(added.tolist())) == len(fresh)
    content = fresh.drop(columns="customer_id")  # every other column
    by_content = split.row_ids(content, dataclasses.replace(c, id_column=None))
    assert (added == by_content).all()
    sides = split.sides(added, {"holdout_size": 0.2, "validation_size": 0.15, "seed": 42})
    assert 0.1 < (sides == "holdout").mean() < 0.3 and (sides == "train").mean() > 0.5
