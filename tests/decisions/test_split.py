"""The split never leaks as the table grows: a row keeps its side for good."""

import numpy as np
import pandas as pd

from mlops.stages import split
from tests.decisions.tables import contract, table

SETTINGS = {"holdout_size": 0.2, "validation_size": 0.15, "seed": 42}


def _sides(df, c, settings=SETTINGS) -> dict[str, str]:
    _, ids = split.split(df, settings, c)
    return dict(zip(ids["row_id"], ids["side"], strict=True))


def test_refresh_only_adds_rows_and_old_holdout_rows_stay_holdout():
    c = contract()
    old = table(3000, seed=1)
    grown = pd.concat([old, table(1500, seed=2, start_id=3000)], ignore_index=True)
    before, after = _sides(old, c), _sides(grown, c)
    assert len(after) == 4500 and set(before) <= set(after)
    assert all(after[i] == side for i, side in before.items())
    parts, _ = split.split(grown, SETTINGS, c)
    old_holdout = set(split.split(old, SETTINGS, c)[0]["holdout"]["customer_id"])
    assert old_holdout <= set(parts["holdout"]["customer_id"])
    assert not old_holdout & set(parts["train"]["customer_id"])
    share = len(parts["holdout"]) / len(grown)
    assert 0.17 < share < 0.23  # a hash, not a coin per run: about the asked share


def test_the_id_column_is_the_identity_when_the_contract_names_one():
    c = contract()
    df = table(2000, seed=3)
    edited = df.assign(x=df["x"] + 1.0)  # a corrected feature does not move the row
    assert _sides(df, c) == _sides(edited, c)
    by_content = contract(id_column=None)
    before, after = _sides(df, by_content).values(), _sides(edited, by_content).values()
    moved = np.mean([a != b for a, b in zip(before, after, strict=True)])
    assert moved > 0.2  # without an id, the row's content is its identity


def test_same_table_same_bytes_and_the_seed_reshuffles():
    c = contract(id_column=None)
    df = table(1000, seed=4)
    first_parts, first_ids = split.split(df, SETTINGS, c)
    again_parts, again_ids = split.split(df.copy(), SETTINGS, c)
    assert first_ids.equals(again_ids)
    assert all(first_parts[s].equals(again_parts[s]) for s in split.SIDES)
    other = split.split(df, {**SETTINGS, "seed": 7}, c)[1]
    assert list(other["row_id"]) == list(first_ids["row_id"])  # identity does not depend on it
    assert (other["side"] != first_ids["side"]).mean() > 0.2


def test_rows_keep_table_order_and_every_row_has_one_side():
    c = contract()
    df = table(500, seed=5)
    parts, ids = split.split(df, SETTINGS, c)
    assert sum(len(p) for p in parts.values()) == len(df) == len(ids)
    for part in parts.values():
        assert part["customer_id"].is_monotonic_increasing
    holdout_ids = ids.loc[ids["side"] == "holdout", "row_id"].tolist()
    assert holdout_ids == list(split.hex_ids(split.row_ids(parts["holdout"], c)))


def test_row_identities_are_written_as_sixteen_hex_digits():
    ids = np.array([0, 1, 255, 2**40, 2**64 - 1], dtype=np.uint64)
    written = list(split.hex_ids(ids))
    assert written == [format(int(i), "016x") for i in ids]
    assert [int(h, 16) for h in written] == [int(i) for i in ids]
    assert list(split.hex_ids(np.array([], dtype=np.uint64))) == []
