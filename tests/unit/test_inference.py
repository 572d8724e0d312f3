"""The inference path chosen at load (``mlops.inference``): parity with the pipeline for every
estimator the template trains, the gate, and the fall-backs.

The fixture table is made here (not the bundled churn sample): two numbers with missing values,
two categories, so the tests hold for whatever table a team adopts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from mlops import inference
from mlops.inference import trees

NUMERIC = ("age", "spend")
CATEGORICAL = ("plan", "city")
PLANS = ("basic", "plus", "pro")
CITIES = ("oslo", "lima", "pune", "kobe")


def to_frame(rows) -> pd.DataFrame:
    """What the server hands the pipeline: numbers as float64, categories as strings."""
    columns = {c: np.array([r[c] for r in rows], dtype=np.float64) for c in NUMERIC}
    columns |= {c: pd.array([r[c] for r in rows], dtype="str") for c in CATEGORICAL}
    return pd.DataFrame(columns)


def records(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rows.append(
            {
                "age": None if i % 11 == 0 else int(rng.integers(18, 90)),
                "spend": None if i % 7 == 0 else round(float(rng.gamma(2.0, 40.0)), 2),
                "plan": str(rng.choice(PLANS)),
                "city": str(rng.choice(CITIES)),
            }
        )
    return rows


def targets(rows, task: str) -> np.ndarray:
    score = np.array(
        [
            (r["age"] or 50) / 30
            + (r["spend"] or 80) / 60
            + PLANS.index(r["plan"])
            - 0.5 * CITIES.index(r["city"])
            for r in rows
        ]
    )
    noise = np.random.default_rng(7).normal(0, 0.7, len(rows))
    if task == "regression":
        return 10 * score + noise
    if task == "binary":
        return (score + noise > np.median(score)).astype(int)
    return np.digitize(score + noise, np.quantile(score, [0.33, 0.66]))  # 3 classes


def preprocessing(numeric=None, categorical=None) -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("numeric", numeric or SimpleImputer(strategy="median"), list(NUMERIC)),
            (
                "categorical",
                categorical or OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(CATEGORICAL),
            ),
        ],
        verbose_feature_names_out=False,
    )


def fit(estimator, task: str, features: ColumnTransformer | None = None) -> Pipeline:
    rows = records(600, seed=1)
    pipeline = Pipeline([("features", features or preprocessing()), ("model", estimator)])
    return pipeline.fit(to_frame(rows), targets(rows, task))


SAMPLE = records(64, seed=2)
# fresh rows the gate never saw, with an unknown category and missing values
UNSEEN = [*records(40, seed=3), {"age": None, "spend": None, "plan": "gold", "city": "rome"}]

COMPILED = [
    pytest.param(HistGradientBoostingClassifier(max_iter=60, random_state=0), "binary",
                 id="hgb-binary"),
    pytest.param(HistGradientBoostingClassifier(max_iter=30, random_state=0), "multiclass",
                 id="hgb-multiclass"),
    pytest.param(HistGradientBoostingRegressor(max_iter=60, random_state=0), "regression",
                 id="hgb-regression"),
    pytest.param(RandomForestClassifier(30, max_depth=8, random_state=0), "binary",
                 id="rf-binary"),
    pytest.param(RandomForestClassifier(30, max_depth=8, random_state=0), "multiclass",
                 id="rf-multiclass"),
    pytest.param(RandomForestRegressor(30, max_depth=8, random_state=0), "regression",
                 id="rf-regression"),
]  # fmt: skip


def reference(pipeline, rows) -> np.ndarray:
    if hasattr(pipeline, "predict_proba"):
        return pipeline.predict_proba(to_frame(rows))
    return pipeline.predict(to_frame(rows))


@pytest.mark.integration  # slower than the fast tier
@pytest.mark.parametrize(("estimator", "task"), COMPILED)
def test_tree_ensembles_compile_and_match_the_pipeline(estimator, task):
    pipeline = fit(estimator, task)
    predictor = inference.load(pipeline, SAMPLE, to_frame)
    assert predictor.info.path == inference.COMPILED, predictor.info
    assert "treelite" in predictor.info.engine
    assert predictor.info.reason == ""
    assert predictor.info.parity_rows == len(SAMPLE)
    assert predictor.info.parity_max_abs_diff <= inference.PARITY_TOLERANCE
    want = reference(pipeline, UNSEEN)
    got = predictor.outputs(UNSEEN)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=inference.PARITY_TOLERANCE)
    one = np.concatenate([predictor.outputs([row]) for row in UNSEEN])
    np.testing.assert_allclose(one, want, rtol=0, atol=inference.PARITY_TOLERANCE)


@pytest.mark.parametrize(
    ("estimator", "task", "features"),
    [
        pytest.param(
            LogisticRegression(max_iter=500),
            "binary",
            preprocessing(make_pipeline(SimpleImputer(), StandardScaler())),
            id="logistic",
        ),
        pytest.param(
            LogisticRegression(max_iter=500),
            "multiclass",
            preprocessing(
                make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()),
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(drop="first", handle_unknown="ignore"),
                ),
            ),
            id="logistic-multiclass-drop-first",
        ),
        pytest.param(
            LinearRegression(),
            "regression",
            preprocessing(
                categorical=OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
            ),
            id="linear-ordinal",
        ),
    ],
)
def test_other_estimators_run_on_arrays(estimator, task, features):
    pipeline = fit(estimator, task, features)
    predictor = inference.load(pipeline, SAMPLE, to_frame)
    assert predictor.info.path == inference.ARRAYS, predictor.info
    assert "not a tree ensemble" in predictor.info.reason
    np.testing.assert_allclose(
        predictor.outputs(UNSEEN), reference(pipeline, UNSEEN), rtol=0, atol=1e-9
    )


def test_preprocessing_it_cannot_reproduce_falls_back_to_the_pipeline():
    features = preprocessing(make_pipeline(SimpleImputer(), FunctionTransformer(np.log1p)))
    pipeline = fit(HistGradientBoostingClassifier(max_iter=20), "binary", features)
    predictor = inference.load(pipeline, SAMPLE, to_frame)
    assert predictor.info.path == inference.PIPELINE
    assert predictor.info.reason == "not compiled: FunctionTransformer on numeric columns"
    np.testing.assert_array_equal(predictor.outputs(UNSEEN), reference(pipeline, UNSEEN))


def test_a_model_that_is_not_a_pipeline_falls_back():
    rows = records(200, seed=1)
    x = to_frame(rows)[list(NUMERIC)].fillna(0)
    model = HistGradientBoostingClassifier(max_iter=5).fit(x, targets(rows, "binary"))
    predictor = inference.load(model, SAMPLE, lambda r: to_frame(r)[list(NUMERIC)].fillna(0))
    assert predictor.info.path == inference.PIPELINE
    assert "not a Pipeline" in predictor.info.reason


@pytest.mark.integration  # slower than the fast tier
def test_a_regression_on_large_values_is_held_to_relative_precision():
    """Prices in the millions: treelite and sklearn sum 60 trees in a different order, which
    moves the result by a few float64 ulps (~1e-10 each at 1e6) - past an absolute 1e-9, well
    inside a relative one. The compiled path must still serve, and still match closely."""
    rows = records(600, seed=1)
    pipeline = Pipeline(
        [("features", preprocessing()), ("model", HistGradientBoostingRegressor(max_iter=60))]
    ).fit(to_frame(rows), 1e6 + 1e5 * targets(rows, "regression"))
    predictor = inference.load(pipeline, SAMPLE, to_frame)
    assert predictor.info.path == inference.COMPILED, predictor.info
    want = reference(pipeline, UNSEEN)
    np.testing.assert_allclose(predictor.outputs(UNSEEN), want, rtol=inference.PARITY_TOLERANCE)


def test_the_parity_gate_refuses_a_compiled_path_that_drifts(monkeypatch):
    pipeline = fit(HistGradientBoostingClassifier(max_iter=20, random_state=0), "binary")
    real = trees.TreeliteEnsemble.predict
    monkeypatch.setattr(trees.TreeliteEnsemble, "predict", lambda self, x: real(self, x) + 1e-6)
    predictor = inference.load(pipeline, SAMPLE, to_frame)
    assert predictor.info.path == inference.PIPELINE
    assert predictor.info.reason.startswith("parity gate: the compiled path")
    assert "1e-06 > 1e-09 on 64 rows" in predictor.info.reason
    assert predictor.info.parity_max_abs_diff == pytest.approx(1e-6)
    np.testing.assert_array_equal(predictor.outputs(UNSEEN), reference(pipeline, UNSEEN))


def test_a_compiled_path_that_raises_falls_back(monkeypatch):
    pipeline = fit(RandomForestRegressor(5, random_state=0), "regression")

    def broken(self, x):
        raise RuntimeError("boom")

    monkeypatch.setattr(trees.TreeliteEnsemble, "predict", broken)
    predictor = inference.load(pipeline, SAMPLE, to_frame)
    assert predictor.info.path == inference.PIPELINE
    assert predictor.info.reason == "compiled path failed: RuntimeError: boom"


def test_without_a_sample_nothing_faster_is_trusted():
    pipeline = fit(HistGradientBoostingRegressor(max_iter=5), "regression")
    predictor = inference.load(pipeline, [], to_frame)
    assert predictor.info.path == inference.PIPELINE
    assert "no parity sample" in predictor.info.reason


def test_describe_names_the_path_the_engine_and_the_parity():
    pipeline = fit(HistGradientBoostingClassifier(max_iter=10, random_state=0), "binary")
    text = inference.load(pipeline, SAMPLE, to_frame).info.describe()
    assert text.startswith("compiled (arrays + treelite ")
    assert "parity max abs diff" in text and "on 64 rows" in text
