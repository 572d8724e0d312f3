"""Request validation: built from the contract, so serving and the validate stage
agree on what a valid record is, and every bad field is named."""

from __future__ import annotations

import math

import pandas as pd
import pandera.errors
import pytest

from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from mlops.serve import validation
from mlops.serve.routing import bucket

CONTRACT = sample_contract()
COLUMNS, FEATURES, dtypes = CONTRACT.columns, CONTRACT.features, CONTRACT.dtypes
frame_schema = CONTRACT.frame_schema


def _records(n: int = 50, drift: float = 0.0) -> list[dict]:
    df = generate(n, 7, drift)[list(FEATURES)]
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in df.to_dict(orient="records")
    ]


def _errors(records) -> list[dict]:
    with pytest.raises(validation.RequestError) as info:
        validation.records({"records": records})
    return info.value.errors


def test_generated_records_pass_and_keep_training_dtypes():
    rows = validation.records({"records": _records()})
    frame = validation.frame(rows)
    assert list(frame.columns) == list(FEATURES)
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(pd.Series([], dtype=t).dtype) for c, t in dtypes(with_target=False).items()
    }
    frame_schema(with_target=False, max_null_share=1.0).validate(frame)  # pandera agrees


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: c.name)
def test_every_column_rejects_what_the_schema_rejects(column):
    """One definition: a value outside the column's range or categories is refused by both."""
    bad = column.high + 1 if column.numeric else "not-a-category"
    record = {**_records(1)[0], column.name: bad}
    [error] = _errors([record])
    assert error["loc"] == ["records", 0, column.name]
    frame = pd.DataFrame([record]).astype(dtypes(with_target=False))
    with pytest.raises(pandera.errors.SchemaErrors):
        frame_schema(with_target=False, max_null_share=1.0).validate(frame, lazy=True)


def test_field_level_errors_name_every_problem():
    good = _records(1)[0]
    records = [
        {k: v for k, v in good.items() if k != "contract"},  # missing field
        {**good, "tenure_months": "12"},  # wrong type
        {**good, "tenure_months": 1.5},  # not an integer
        {**good, "senior_citizen": True},  # bools are not numbers here
        {**good, "monthly_charges": -1.0},  # out of range
        {**good, "region": "mars"},  # unknown category
        {**good, "monthly_charges": None},  # null where the schema forbids it
        {**good, "colour": "red"},  # unknown field
        "not an object",
        {**good, "total_charges": None, "tenure_months": 12.0},  # valid: nullable, integral
    ]
    errors = _errors(records)
    where = [(e["loc"][1], e["loc"][2] if len(e["loc"]) > 2 else None, e["type"]) for e in errors]
    assert where == [
        (0, "contract", "missing"),
        (1, "tenure_months", "value"),
        (2, "tenure_months", "value"),
        (3, "senior_citizen", "value"),
        (4, "monthly_charges", "value"),
        (5, "region", "value"),
        (6, "monthly_charges", "null"),
        (7, "colour", "extra"),
        (8, None, "type"),
    ]
    assert "expected one of: north, south, east, west" in errors[5]["msg"]
    assert "between 0 and 500" in errors[4]["msg"]


@pytest.mark.parametrize("body", [None, [], {}, {"records": []}, {"records": {"a": 1}}])
def test_body_shape_is_checked(body):
    with pytest.raises(validation.RequestError) as info:
        validation.records(body)
    assert info.value.errors[0]["loc"] == ["records"]


def test_canary_split_is_deterministic_and_near_the_share():
    ids = [f"req-{i}" for i in range(10_000)]
    assert [bucket(i) for i in ids] == [bucket(i) for i in ids]
    share = sum(bucket(i) < 10 for i in ids) / len(ids)
    assert 0.08 < share < 0.12


def test_a_row_exported_with_its_target_is_answered_without_it():
    good = _records(1)[0]
    # the target is dropped before the record is scored or logged: outcomes arrive on their own
    assert validation.records({"records": [{**good, CONTRACT.target: 1}]}) == [good]
    [error] = _errors([{**good, CONTRACT.target: 1, "tenure_months": -5}])
    assert error["loc"] == ["records", 0, "tenure_months"]  # its features are still checked
    [error] = _errors([{**good, "churned": 1}])
    assert (error["loc"], error["msg"]) == (["records", 0, "churned"], "unknown field")
