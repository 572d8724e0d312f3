"""Contract inference: kinds, ranges, categories, nulls, exclusions, the task, and refusals."""

import numpy as np
import pandas as pd
import pytest

from mlops.data.infer import AdoptError, infer_contract, model_name
from tests.adopt import tables


def _infer(df, target, **kw):
    return infer_contract(df, target=target, data="data/t.csv", name="t-model", **kw)


def test_binary_table_kinds_ranges_categories_nulls_and_exclusions():
    got = _infer(tables.binary(), "bought", segment="country")
    c = got.contract
    assert (c.task, c.classes, c.positive, c.segment) == ("binary", ("no", "yes"), "yes", "country")
    cols = c.by_name
    assert cols["age"].kind == "float" and cols["age"].low < 20 and cols["age"].high > 80
    assert cols["usage"].low == 0  # no negative value seen: the widened range stops at 0
    assert cols["usage"].nullable and 0.04 < cols["usage"].max_null_share <= 0.15
    assert cols["plan"].categories == ("basic", "pro")
    assert c.features == ("age", "usage", "plan", "country")
    assert not cols["customer_id"].feature and not cols["constant"].feature
    # out of the model, so out of the prediction log: refreshed rows lack them
    for name in ("customer_id", "constant"):
        assert (cols[name].kind, cols[name].nullable, cols[name].max_null_share) == (
            "category", True, 1.0)  # fmt: skip
    notes = "\n".join(got.notes)
    assert "'customer_id': not a feature (id-like" in notes
    assert "'constant': not a feature (constant: always 7)" in notes
    assert "positive class: 'yes'" in notes


def test_numeric_ranges_are_widened_by_the_documented_margin():
    df = pd.DataFrame({"x": np.linspace(-10, 10, 100), "y": [0, 1] * 50})
    col = _infer(df, "y").contract.by_name["x"]
    assert (col.low, col.high) == (-12, 12)  # 10 % of the span (20) on each side


@pytest.mark.parametrize(
    ("target", "values", "task"),
    [
        ("t", ["a", "b"] * 50, "binary"),
        ("t", ["a", "b", "c", "d"] * 25, "multiclass"),
        ("t", [0, 1, 2] * 33 + [0], "multiclass"),
        ("t", list(range(100)), "regression"),
        ("t", list(np.linspace(0, 1, 100)), "regression"),
        ("t", [True, False] * 50, "binary"),
    ],
)
def test_task_auto_infers_from_the_target_and_says_why(target, values, task):
    df = pd.DataFrame({"x": np.arange(100) % 7, target: values})
    got = _infer(df, target)
    assert got.contract.task == task
    assert any(n.startswith(f"task: {task}, because") for n in got.notes)


def test_positive_label_given_or_the_minority():
    df = pd.DataFrame({"x": np.arange(100) % 7, "t": ["cat"] * 70 + ["dog"] * 30})
    assert _infer(df, "t").contract.positive == "dog"
    assert _infer(df, "t", positive="cat").contract.positive == "cat"


def test_category_cap_excludes_high_cardinality_columns():
    df = pd.DataFrame({"code": [f"k{i % 60}" for i in range(600)], "x": np.arange(600) % 9})
    df["t"] = [0, 1] * 300
    got = _infer(df, "t")
    assert not got.contract.by_name["code"].feature
    assert any("high cardinality: 60 distinct values, cap 50" in n for n in got.notes)


@pytest.mark.parametrize(
    ("mutate", "kwargs", "message"),
    [
        (lambda d: d.drop(columns="bought"), {}, "--target bought: no such column"),
        (lambda d: d.assign(bought="yes"), {}, "is constant ('yes')"),
        (lambda d: d.head(0), {}, "no rows"),
        (
            lambda d: d.assign(bought=["no"] * (len(d) - 2) + ["yes"] * 2),
            {},
            "class 'yes' (2 rows) too small to reach both the training and the holdout side",
        ),
        (lambda d: d, {"task": "regression"}, "--task regression: target 'bought' is not numeric"),
        (lambda d: d, {"task": "multiclass"}, "has 2 classes; use binary"),
        (lambda d: d, {"positive": "maybe"}, "--positive-label 'maybe' is not a class"),
        (lambda d: d.assign(bought=None), {}, "row(s) have no value"),
        (lambda d: d, {"segment": "bought"}, "is the target"),
    ],
)
def test_refusals_name_what_to_fix(mutate, kwargs, message):
    with pytest.raises(AdoptError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _infer(mutate(tables.binary()), "bought", **kwargs)


def test_model_name_from_a_file_name():
    assert model_name("Breast Cancer (v2)") == "breast-cancer-v2-model"
