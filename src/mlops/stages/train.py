"""train: fit a scikit-learn Pipeline that holds all preprocessing, so serving takes raw records.

``train.estimator`` in params.yaml picks the model (``ESTIMATORS``), fit for the contract's task;
its hyperparameters are the section of the same name. The fitted Pipeline carries the contract
it was trained with (``mlops.formats.contract.contract_of``), so serving validates against it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops.core import paths
from mlops.data import ordinal, recency
from mlops.formats import params
from mlops.formats.contract import MODEL_ATTRIBUTE, Contract, load_contract
from mlops.model import model_io, thresholds


def _hist_gradient_boosting(classify: bool, p: dict[str, Any], seed: int):
    cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    return cls(**p, early_stopping=False, random_state=seed)


def _random_forest(classify: bool, p: dict[str, Any], seed: int):
    cls = RandomForestClassifier if classify else RandomForestRegressor
    return cls(**p, n_jobs=1, random_state=seed)


def _linear(classify: bool, p: dict[str, Any], seed: int):
    if classify:
        return LogisticRegression(C=1 / p["regularization"], max_iter=p["max_iter"])
    return Ridge(alpha=p["regularization"], max_iter=p["max_iter"], random_state=seed)


ESTIMATORS = {
    "hist_gradient_boosting": _hist_gradient_boosting,
    "random_forest": _random_forest,
    "linear": _linear,
}


def _features(contract: Contract, scale: bool) -> ColumnTransformer:
    numeric = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype="float64")
    categorical = [SimpleImputer(strategy="constant", fill_value="missing"), encoder]
    return ColumnTransformer(
        [
            ("numeric", _chain(numeric), list(contract.numeric)),
            ("categorical", _chain(categorical), list(contract.nominal)),
            *ordinal.transformers(contract),
        ],
        verbose_feature_names_out=False,
    )


def _chain(steps: list):
    return steps[0] if len(steps) == 1 else Pipeline([(type(s).__name__.lower(), s) for s in steps])


def build(settings: dict[str, Any], contract: Contract) -> Pipeline:
    """The untrained pipeline: impute (and for linear models scale) numbers, one-hot
    categories, then the estimator ``settings["estimator"]`` fit for the contract's task."""
    name = settings["estimator"]
    model = ESTIMATORS[name](contract.classification, settings[name], settings["seed"])
    return Pipeline([("features", _features(contract, name == "linear")), ("model", model)])


# A model's bytes depend on how many OpenMP threads fit it (gradient boosting sums its gradient
# histograms per thread): fit on one thread, the same data and params give the same file on a
# laptop, a 2-core CI runner or a 64-core server.
TRAIN_THREADS = 1


def train(
    df: pd.DataFrame,
    settings: dict[str, Any],
    contract: Contract,
    weight=None,
    threshold: float = thresholds.DEFAULT,
) -> Pipeline:
    from threadpoolctl import threadpool_limits

    fit = {} if weight is None else {"model__sample_weight": weight}
    with threadpool_limits(TRAIN_THREADS, user_api="openmp"):
        pipeline = build(settings, contract).fit(
            df[list(contract.features)], df[contract.target], **fit
        )
    setattr(pipeline, MODEL_ATTRIBUTE, contract.for_model())
    setattr(pipeline, model_io.THRESHOLD_ATTRIBUTE, float(threshold))  # served with it
    return pipeline


def main() -> int:
    contract = load_contract()
    settings = params.section("train")
    df, weight = recency.apply(contract.read_table(paths.TRAIN), settings, contract)
    model = train(df, settings, contract, weight)
    # the threshold it is served with: a number in params.yaml, or `auto` (best F1 on the
    # validation rows, which neither training nor the holdout sees)
    rule = params.section("evaluate")["threshold"]
    validation = contract.read_table(paths.VALIDATION_SPLIT)
    cut = thresholds.choose(rule, model, validation, contract)
    setattr(model, model_io.THRESHOLD_ATTRIBUTE, float(cut))
    model_io.save(model, paths.MODEL)
    model_io.load(paths.MODEL)  # a type outside the allow-list stops training, not serving
    print(f"train: model written to {paths.MODEL} ({model_io.sha256(paths.MODEL)})")
    return 0


if __name__ == "__main__":
    from mlops.core.cli_support import run_stage

    run_stage(main)
