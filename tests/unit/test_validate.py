"""The validate stage names every problem in bad data: column, check and failing values."""

import numpy as np
import pandas as pd
import pytest

from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from mlops.stages import validate as validate_stage
from mlops.stages.validate import describe

SETTINGS = {"min_rows": 1000, "max_null_share": 0.05, "max_duplicate_share": 0.01}


def validate(df, settings):
    return validate_stage.validate(df, settings, sample_contract())


@pytest.fixture
def good():
    return generate(2000, seed=11)


def _fail(df):
    report = validate(df, SETTINGS)
    assert not report["valid"]
    return report, describe(report)


def test_good_data_passes(good):
    report = validate(good, SETTINGS)
    assert report["valid"] and report["failures"] == [] and report["rows"] == 2000


def test_too_many_nulls(good):
    good.loc[good.index[:300], "total_charges"] = np.nan
    _, text = _fail(good)
    assert "'total_charges'" in text and "max_null_share" in text


def test_nulls_in_a_column_that_allows_none(good):
    good["monthly_charges"] = good["monthly_charges"].astype("float64")
    good.loc[good.index[:3], "monthly_charges"] = np.nan
    _, text = _fail(good)
    assert "'monthly_charges'" in text and "not_nullable" in text


def test_wrong_dtype(good):
    good["tenure_months"] = good["tenure_months"].astype(str) + " months"
    _, text = _fail(good)
    assert "'tenure_months'" in text and "dtype" in text and "int64" in text


def test_unknown_category(good):
    good.loc[good.index[:4], "contract"] = "lifetime"
    _, text = _fail(good)
    assert "'contract'" in text and "isin" in text and "'lifetime'" in text


def test_missing_column(good):
    _, text = _fail(good.drop(columns=["support_tickets"]))
    assert "support_tickets" in text and "column_in_dataframe" in text


def test_too_few_rows(good):
    _, text = _fail(good.head(100))
    assert "min_rows=1000" in text


def test_single_class_target(good):
    good["churn"] = 0
    _, text = _fail(good)
    assert "every class" in text


def test_out_of_range_value(good):
    good.loc[good.index[0], "monthly_charges"] = -25.0
    _, text = _fail(good)
    assert "'monthly_charges'" in text and "in_range" in text and "-25.0" in text


def test_too_many_duplicates(good):
    df = pd.concat([good.head(1900), good.head(100)], ignore_index=True)
    _, text = _fail(df)
    assert "max_duplicate_share" in text


def test_every_failure_is_listed_at_once(good):
    good.loc[good.index[:4], "region"] = "mars"
    good.loc[good.index[:2], "senior_citizen"] = 7
    report, _ = _fail(good)
    columns = {f["column"] for f in report["failures"]}
    assert {"region", "senior_citizen"} <= columns
