"""An imbalanced binary table: the threshold is chosen on validation rows, the card-worthy
numbers stand beside a trivial baseline, and default live bars never fall to it."""

import numpy as np
import pytest

from mlops.evaluation import scoring
from mlops.feedback import bars
from mlops.model import thresholds
from mlops.stages import baselines, split, train
from tests.decisions.tables import contract, table

TRAIN = {"seed": 1, "estimator": "linear", "linear": {"regularization": 1.0, "max_iter": 500}}
SETTINGS = {"holdout_size": 0.25, "validation_size": 0.25, "seed": 3}


@pytest.fixture(scope="module")
def fitted():
    c = contract()
    parts, _ = split.split(table(12000, seed=9, positive_share=0.03), SETTINGS, c)
    model = train.train(parts["train"], TRAIN, c)
    return c, parts, model


def test_auto_threshold_is_chosen_on_validation_and_lifts_recall(fitted):
    c, parts, model = fitted
    cut = thresholds.choose("auto", model, parts["validation"], c)
    assert cut < 0.5  # 3 % positives: 0.5 answers "no" to nearly everyone
    assert thresholds.choose(0.5, model, parts["validation"], c) == 0.5
    holdout = parts["holdout"]
    at = {t: baselines.score(model, holdout, t, c) for t in (0.5, cut)}
    assert at[cut]["recall"] > at[0.5]["recall"]
    assert at[cut]["f1"] > at[0.5]["f1"]
    # chosen without the holdout: the same validation rows give the same threshold
    shuffled = holdout.sample(frac=1.0, random_state=0)
    assert thresholds.choose("auto", model, parts["validation"], c) == cut
    assert baselines.score(model, shuffled, cut, c)["f1"] == pytest.approx(at[cut]["f1"])


def test_the_trivial_baseline_is_the_majority_class(fitted):
    c, parts, _ = fitted
    out = baselines.evaluate(parts["train"], parts["validation"], parts["holdout"], TRAIN,
                             "auto", c)  # fmt: skip
    majority = 1 - (parts["holdout"]["y"] == 1).mean()
    assert out["trivial"]["accuracy"] == pytest.approx(majority, abs=1e-6)
    assert out["trivial"]["roc_auc"] == 0.5 and out["trivial"]["recall"] == 0
    assert out["linear"]["roc_auc"] > 0.8 and out["rows"] == len(parts["holdout"])
    assert out["linear"]["threshold"] < 0.5
    whole = baselines.trivial_scores(parts["train"], c)  # before any model: at adopt time
    assert whole["accuracy"] == pytest.approx(1 - (parts["train"]["y"] == 1).mean(), abs=1e-6)


def test_calibration_is_measured():
    c = contract()
    y = np.array([0, 0, 1, 1] * 50)
    honest = scoring.Predictions(y, np.column_stack([1 - y * 0.9, y * 0.9 + 0.0]), (0, 1))
    sure_and_wrong = scoring.Predictions(1 - y, np.column_stack([y * 1.0, 1.0 - y]), (0, 1))
    good, bad = scoring.score(y, honest, c), scoring.score(y, sure_and_wrong, c)
    assert good["brier"] < 0.01 and good["ece"] < 0.1
    assert bad["brier"] == 1.0 and bad["ece"] == 1.0
    bins = scoring.reliability(y, honest, c)
    assert sum(b["rows"] for b in bins) == len(y)


def test_default_live_bars_never_fall_to_the_trivial_baseline():
    # the survey case: holdout accuracy 0.55 where the majority class scores 0.35
    assert bars.live_bar("accuracy", 0.55, 0.35) == pytest.approx(0.50)
    # the price table case: r2 0.986 against a mean's 0
    assert bars.live_bar("r2", 0.986, 0.0) == pytest.approx(0.7395)
    # lower is better: rmse 2 against the mean's 10
    assert bars.live_bar("rmse", 2.0, 10.0) == pytest.approx(4.0)
    # a model no better than the baseline: the bar is the baseline, never below it
    assert bars.live_bar("accuracy", 0.96, 0.967) == 0.967
    # per version: derived where both figures were recorded, not judged where one is missing
    assert bars.derive("accuracy", "v1.0.0", 0.9, 0.8, 0.25).value == pytest.approx(0.875)
    assert bars.derive("f1", "v1.0.0", 0.6, 0.0, 0.25).value == pytest.approx(0.45)
    assert bars.derive("x", "v1.0.0", None, 0.0, 0.25) is None
