"""The sample generator: deterministic, valid, realistic, and able to drift."""

import pandas as pd
import pytest

from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract

CONTRACT = sample_contract()
SEGMENT, TARGET, frame_schema = CONTRACT.segment, CONTRACT.target, CONTRACT.frame_schema


def test_same_arguments_give_the_same_table():
    pd.testing.assert_frame_equal(generate(2000, seed=7), generate(2000, seed=7))


def test_different_seeds_give_different_tables():
    assert not generate(2000, seed=1).equals(generate(2000, seed=2))


@pytest.mark.parametrize("rows", [1, 37, 5000])
def test_any_size(rows):
    assert len(generate(rows)) == rows


def test_default_sample_passes_the_schema_with_both_classes_in_every_region():
    df = generate()
    frame_schema(min_rows=1000, max_null_share=0.05, max_duplicate_share=0.01).validate(df)
    per_region = df.groupby(SEGMENT)[TARGET].agg(["min", "max"])
    assert (per_region["min"] == 0).all() and (per_region["max"] == 1).all()
    assert 0.15 < df[TARGET].mean() < 0.45


def test_features_carry_signal_and_correlate():
    df = generate(20_000)
    by_contract = df.groupby("contract")[TARGET].mean()
    assert by_contract["month-to-month"] > by_contract["two-year"] + 0.2
    assert df["total_charges"].corr(df["tenure_months"]) > 0.7


def test_drift_mode_shifts_the_population():
    base, drifted = generate(20_000, seed=3), generate(20_000, seed=3, drift=1.0)
    assert drifted["monthly_charges"].mean() > base["monthly_charges"].mean() + 5
    share = lambda df: (df["contract"] == "month-to-month").mean()  # noqa: E731
    assert share(drifted) > share(base) + 0.2
    frame_schema().validate(drifted.dropna())


@pytest.mark.parametrize("kwargs", [{"rows": 0}, {"drift": 1.5}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        generate(**kwargs)
