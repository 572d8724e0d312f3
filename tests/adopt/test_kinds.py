"""What adopt infers from the kinds real tables hold (tables made here): ordered and unordered
pandas categoricals, 0/1 flags, imbalanced targets; how serving reads them; recency weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops.data import recency
from mlops.data.infer import infer_contract
from mlops.formats.contract import Contract
from mlops.formats.schema import coerce
from mlops.serve.validation import RequestError, Validator

ORDER = ["poor", "fair", "good", "premium"]


def _table(n: int = 400, seed: int = 4, positive_share: float = 0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    flag = rng.integers(0, 2, n).astype("float64")
    flag[::25] = np.nan  # a 0/1 flag with nulls reads as floats
    return pd.DataFrame(
        {
            "order_id": [f"o{i:05d}" for i in range(n)],
            "quality": pd.Categorical(rng.choice(ORDER, n), categories=ORDER, ordered=True),
            "colour": pd.Categorical(rng.choice(["red", "blue"], n), categories=["red", "blue"]),
            "promo": rng.integers(0, 2, n),
            "member": flag,
            "x": rng.normal(size=n).round(3),
            "y": np.where(rng.random(n) < positive_share, "yes", "no"),
        }
    )


def _infer(df: pd.DataFrame):
    return infer_contract(df, target="y", data="data/t.parquet", name="t-model")


def test_categoricals_keep_their_order_and_flags_refuse_a_two():
    done = _infer(_table())
    cols = done.contract.by_name
    assert cols["quality"].categories == tuple(ORDER) and cols["quality"].ordered
    assert cols["colour"].categories == ("red", "blue") and not cols["colour"].ordered
    assert (cols["promo"].kind, cols["promo"].low, cols["promo"].high) == ("int", 0, 1)
    assert cols["member"].categories == ("0", "1") and cols["member"].nullable
    assert done.contract.ordinal == ("quality",) and done.contract.nominal == ("colour", "member")
    assert not cols["order_id"].feature
    again = Contract.from_dict(done.contract.to_dict())  # contract.yaml round trip keeps it
    assert again.by_name["quality"].ordered and again.by_name["quality"].categories == tuple(ORDER)
    table = coerce(_table(), done.contract)
    assert table["quality"].dtype == "str" and set(table["member"].dropna()) == {"0", "1"}


def test_class_balance_is_reported_and_imbalance_warned():
    balanced = _infer(_table())
    assert any(n.startswith("class balance: 'no'") for n in balanced.notes)
    assert not any("imbalanced" in r for r in balanced.review)
    table = _table(n=2000, positive_share=0.03)
    share = float((table["y"] == "yes").mean())
    [warning] = [r for r in _infer(table).review if r.startswith("imbalanced target")]
    assert f"'yes' is {share:.1%}" in warning
    assert f"always answering 'no' scores accuracy {1 - share:.3f}" in warning
    assert "evaluate.threshold" in warning


def test_a_rare_class_of_a_multiclass_target_is_warned_without_binary_advice():
    table = _table(n=2000).assign(
        y=lambda d: np.where(
            np.arange(len(d)) % 20 == 0, "rare", d["x"].gt(0).map({True: "a", False: "b"})
        )
    )
    [warning] = [r for r in _infer(table).review if r.startswith("imbalanced target")]
    assert "'rare' is 5.0%" in warning and "macro F1" in warning
    assert "threshold" not in warning  # a multiclass model answers its most probable class


def _record(contract: Contract) -> dict:
    return {"order_id": "o00001", "quality": "good", "colour": "red", "promo": 1,
            "member": None, "x": 0.5}  # fmt: skip


def test_requests_carry_feature_false_columns_the_target_and_codes_but_not_a_two():
    contract = _infer(_table()).contract
    validator = Validator(contract)
    as_exported = _record(contract)
    with_target = {**as_exported, contract.target: "yes"}  # the row exactly as the table holds it
    rows = validator.records({"records": [as_exported, {**as_exported, "member": 1}, with_target]})
    frame = validator.frame(rows)
    assert list(frame.columns) == list(contract.features)  # the id is never scored
    assert frame["member"].tolist()[1] == "1"  # a JSON number read as the table's text
    assert rows[2] == as_exported  # the target is dropped before scoring and the log
    for bad, column in (({"promo": 2}, "promo"), ({"member": 2}, "member"), ({"z": 1}, "z")):
        with pytest.raises(RequestError) as caught:
            validator.records({"records": [{**as_exported, **bad}]})
        assert [e["loc"] for e in caught.value.errors] == [["records", 0, column]]


def test_recency_ages_come_from_the_table_and_weigh_the_newest_most():
    contract = _infer(_table()).contract
    table = coerce(_table(), contract)
    train = table.iloc[[5, 399, 200]].reset_index(drop=True)
    assert recency.ages(train, table, contract).tolist() == [394, 0, 199]
    rows, weight = recency.weigh(train, table, recency.Recency(half_life=199), contract)
    assert weight == pytest.approx([0.5 ** (394 / 199), 1.0, 0.5]) and rows is train
    off = recency.apply(train, {"recency": {"half_life": 0}}, contract)
    assert off[0] is train and off[1] is None  # off: the table is not even read
    kept, dropped = recency.keep_newest(table, 150)
    assert dropped == 250 and kept["order_id"].tolist()[0] == "o00250"
    assert recency.keep_newest(table, 0) == (table, 0)


def test_a_rare_null_is_described_as_present_not_as_zero_percent():
    table = _table(n=2500)
    table["x"] = table["x"].astype("float64")
    table.loc[7, "x"] = np.nan  # one null in 2,500 rows: 0.04 %, not "0.0 %"
    described = _infer(table).contract.by_name["x"].description
    assert described == "0.04% null in the adopted table"
