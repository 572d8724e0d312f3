"""train: fit a scikit-learn Pipeline that holds all preprocessing, so serving takes raw records."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from mlops import model_io, params, paths
from mlops.data.schema import CATEGORICAL, FEATURES, NUMERIC, TARGET, read_table


def build(settings: dict[str, Any]) -> Pipeline:
    """The untrained pipeline: impute numbers, one-hot categories, gradient-boosted trees."""
    features = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), list(NUMERIC)),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype="float64"),
                list(CATEGORICAL),
            ),
        ],
        verbose_feature_names_out=False,
    )
    model = HistGradientBoostingClassifier(
        learning_rate=settings["learning_rate"],
        max_iter=settings["max_iter"],
        max_leaf_nodes=settings["max_leaf_nodes"],
        min_samples_leaf=settings["min_samples_leaf"],
        l2_regularization=settings["l2_regularization"],
        early_stopping=False,
        random_state=settings["seed"],
    )
    return Pipeline([("features", features), ("model", model)])


def train(df: pd.DataFrame, settings: dict[str, Any]) -> Pipeline:
    return build(settings).fit(df[list(FEATURES)], df[TARGET])


def main() -> int:
    model = train(read_table(paths.TRAIN), params.section("train"))
    model_io.save(model, paths.MODEL)
    print(f"train: model written to {paths.MODEL} ({model_io.sha256(paths.MODEL)})")
    return 0


if __name__ == "__main__":
    from mlops.cli_support import run_stage

    run_stage(main)
