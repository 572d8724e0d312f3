"""Baselines: what a metric means is what it beats.

Beside every model the evaluate stage scores two baselines on the same holdout rows, with the
same metrics (``mlops.evaluation.scoring``), and writes them to reports/baselines.json:

- ``trivial``: the majority class with the training prior as its probability (classification),
  or the training mean (regression): what a model that learnt nothing scores;
- ``linear``: the plain linear model of ``train.linear`` (logistic regression or ridge) on the
  same features, fit on at most ``LINEAR_ROWS`` evenly spaced training rows;
- ``traffic`` (only when some holdout rows came from labelled live traffic, `mlops data
  refresh`): the model and the trivial baseline on those rows alone, with their count, the
  model's standard errors and, when they are too few to judge, why. That is the population the
  version will serve, so its default live bar is derived from these figures when they can be
  judged (``mlops.feedback.bars``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.core import paths
from mlops.core.io_utils import read_json
from mlops.evaluation import scoring

LINEAR_ROWS = 100_000
NAMES = ("trivial", "linear")


def trivial_model(train: pd.DataFrame, contract):
    from sklearn.dummy import DummyClassifier, DummyRegressor

    model = DummyClassifier(strategy="prior") if contract.classification else DummyRegressor()
    return model.fit(train[list(contract.features)], train[contract.target])


def trivial_scores(table: pd.DataFrame, contract) -> dict[str, float]:
    """The trivial baseline's metrics on a whole table (its own prior or mean): what a default
    bar must beat before any model is trained, e.g. when a table is adopted."""
    labelled = table[table[contract.target].notna()]
    return score(trivial_model(labelled, contract), labelled, 0.5, contract)


def linear_model(train: pd.DataFrame, settings: dict[str, Any], contract):
    from mlops.stages.train import build

    linear = {"estimator": "linear", "linear": settings["linear"], "seed": settings["seed"]}
    rows = train.iloc[np.unique(np.linspace(0, len(train) - 1, min(len(train), LINEAR_ROWS)))]
    return build(linear, contract).fit(rows[list(contract.features)], rows[contract.target])


def score(model, holdout: pd.DataFrame, threshold: float, contract) -> dict[str, float]:
    p = scoring.predict(model, holdout[list(contract.features)], contract, threshold)
    return scoring.score(holdout[contract.target].to_numpy(), p, contract)


def evaluate(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    holdout: pd.DataFrame,
    settings: dict[str, Any],
    rule,
    contract,
) -> dict[str, Any]:
    """reports/baselines.json: each baseline's metrics on the holdout. The trivial baseline
    answers its majority class (threshold 0.5 on the prior); the linear one uses the same
    threshold rule as the model, on the same validation rows."""
    from threadpoolctl import threadpool_limits

    from mlops.model import thresholds

    trivial = trivial_model(train, contract)
    # One BLAS thread: the linear model's products are small enough that OpenBLAS' threads
    # cost more than they save (a third of the CPU at 3,000 rows), and spin on a busy machine.
    with threadpool_limits(1, user_api="blas"):
        linear = linear_model(train, settings, contract)
        cut = thresholds.choose(rule, linear, validation, contract)
        scored = score(linear, holdout, cut, contract)
    return {
        "rows": len(holdout),
        "trivial": score(trivial, holdout, thresholds.DEFAULT, contract),
        "linear": scored | _threshold(contract, cut),
    }


def on_traffic(
    model_predictions,
    holdout: pd.DataFrame,
    from_traffic: np.ndarray,
    train: pd.DataFrame,
    contract,
) -> dict[str, Any] | None:
    """The ``traffic`` entry: the model (its ``model_predictions`` on ``holdout``) and the
    trivial baseline scored on the holdout rows ``from_traffic`` marks; None without any."""
    from mlops.evaluation import uncertainty

    idx = np.flatnonzero(from_traffic)
    if not len(idx):
        return None
    y = holdout[contract.target].to_numpy()[idx]
    part = scoring.subset(model_predictions, idx)
    trivial = score(trivial_model(train, contract), holdout.iloc[idx], 0.5, contract)
    out = {
        "rows": len(idx),
        "model": scoring.score(y, part, contract),
        "trivial": trivial,
        "se": uncertainty.standard_errors(y, part, contract),
    }
    small = uncertainty.too_small(y, contract)
    return out | ({"too_small": small} if small else {})


def _threshold(contract, cut: float) -> dict[str, float]:
    return {"threshold": cut} if contract.task == "binary" else {}


def read(root: str | Path = ".") -> dict[str, Any]:
    """The workspace's reports/baselines.json ({} when it is not there)."""
    path = Path(root) / paths.BASELINES
    return read_json(path) if path.is_file() else {}
