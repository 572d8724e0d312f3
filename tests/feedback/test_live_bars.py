"""Default live bars: derived per served version from its holdout figure and its trivial
baseline (``monitoring.min_live: {metric: auto}``, or unset), never one a constant answer meets;
explicit numbers still apply as written."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlops.core.errors import ConfigError
from mlops.demos.feedback import check_recovered, figure
from mlops.feedback import bars, performance, render
from mlops.formats import environments
from tests.feedback.contracts import contract


def _env(monitoring: dict | None = None, gates: dict | None = None):
    raw = {"monitoring": monitoring or {}, "gates": gates or {}}
    return environments.parse(raw, "production", "environments/production.yaml")


def _trivial(**metrics) -> dict:
    return {"trivial": metrics}


def test_auto_follows_the_holdout_figure_not_a_number_typed_before_training():
    env = _env({"min_live": {"r2": "auto"}}, {"min": {"r2": 0.2}})
    # the price table: holdout r2 0.986 against the mean's 0; a bar of 0.2 would alarm on nothing
    got = bars.resolve({"r2": "auto"}, "v1.2.0", {"r2": 0.986}, _trivial(r2=0.0), env)["r2"]
    assert got.value == pytest.approx(0.7395) and got.source == "auto"
    assert (
        got.how == "auto: v1.2.0's holdout r2 0.986 - 0.25 x its lift over the trivial baseline 0"
    )
    assert (got.version, got.holdout, got.trivial, got.tolerance) == ("v1.2.0", 0.986, 0.0, 0.25)


@pytest.mark.parametrize(
    ("metric", "holdout", "trivial", "bar"),
    [
        ("accuracy", 0.55, 0.35, 0.50),  # a survey: the majority class answers 35 %
        ("roc_auc", 0.82, 0.5, 0.74),
        ("rmse", 2.0, 10.0, 4.0),  # lower is better: the bar is above the holdout figure
        ("accuracy", 0.96, 0.967, 0.967),  # no lift: the bar is the baseline, never below it
    ],
)
def test_the_bar_keeps_three_quarters_of_the_lift_and_never_falls_to_the_baseline(
    metric, holdout, trivial, bar
):
    assert bars.live_bar(metric, holdout, trivial) == pytest.approx(bar)
    got = bars.derive(metric, "v1", holdout, trivial, 0.25)
    assert got.value == pytest.approx(bar)
    worse = (lambda a, b: a > b) if metric == "rmse" else (lambda a, b: a < b)
    assert not worse(got.value, trivial)  # a constant answer never scores better than the bar


def test_a_multiclass_bar_is_above_the_majority_share_and_the_tolerance_is_the_teams():
    env = _env({"min_live": {"accuracy": "auto"}, "live_tolerance": 0.5})
    got = bars.resolve({"accuracy": "auto"}, "v1", {"accuracy": 0.6}, _trivial(accuracy=0.4), env)
    assert got["accuracy"].value == pytest.approx(0.5) and got["accuracy"].value > 0.4


def _traffic(rows: int, model: float, trivial: float, too_small: str = "") -> dict:
    entry = {"rows": rows, "model": {"roc_auc": model}, "trivial": {"roc_auc": trivial}}
    return entry | ({"too_small": too_small} if too_small else {})


def test_a_retrain_after_the_population_moved_is_judged_by_its_figure_on_traffic_rows():
    """A holdout of mostly old rows (0.91 overall) against the 497 rows from live traffic (0.80):
    the version serves the moved population, so its bar is derived from the figure there."""
    env = _env()
    base = {"trivial": {"roc_auc": 0.5}, "traffic": _traffic(497, 0.8021, 0.5)}
    got = bars.resolve({"roc_auc": "auto"}, "v1.2.0", {"roc_auc": 0.9107}, base, env)["roc_auc"]
    assert got.value == pytest.approx(0.8021 - 0.25 * 0.3021, abs=1e-6)
    assert (got.holdout, got.rows) == (0.8021, 497)
    where = "auto: v1.2.0's holdout (its 497 rows from live traffic)"
    assert got.how.startswith(f"{where} roc_auc 0.8021")
    assert got.to_dict()["rows"] == 497
    # too few traffic rows to judge: the whole holdout's figure, as before
    base["traffic"] = _traffic(40, 0.7, 0.5, too_small="4 rows of one class (fewer than 5)")
    whole = bars.resolve({"roc_auc": "auto"}, "v1.2.0", {"roc_auc": 0.9107}, base, env)["roc_auc"]
    assert whole.value == pytest.approx(0.9107 - 0.25 * 0.4107, abs=1e-6) and whole.rows is None
    assert whole.how.startswith("auto: v1.2.0's holdout roc_auc 0.9107")


def test_explicit_numbers_apply_as_written_and_a_version_without_figures_falls_back():
    env = _env({"min_live": {"roc_auc": "auto", "f1": 0.5}}, {"min": {"roc_auc": 0.78}})
    wanted, source = bars.configured(env, "binary", performance.LIVE_METRICS["binary"])
    assert wanted == {"roc_auc": "auto", "f1": 0.5}
    assert source == "environments/production.yaml: monitoring.min_live"
    # registered before baselines were recorded (or not registered): gates.min, said so
    old = bars.resolve(wanted, "v0.9.0", {"roc_auc": 0.8}, {}, env)
    assert (old["roc_auc"].value, old["roc_auc"].source) == (0.78, "gates.min")
    assert "v0.9.0's tag records no holdout roc_auc and trivial baseline" in old["roc_auc"].how
    assert (old["f1"].value, old["f1"].source) == (0.5, "set")
    bare = bars.resolve({"accuracy": "auto"}, "v0.9.0", {}, {}, env)["accuracy"]
    assert bare.value is None and "not judged" in bare.how
    assert bars.thresholds({**old, "accuracy": bare}) == {"roc_auc": 0.78, "f1": 0.5}


def test_unset_or_auto_alone_means_auto_on_the_headline_and_the_gate_metrics():
    for monitoring in ({}, {"min_live": "auto"}):
        env = _env(monitoring, {"min": {"f1": 0.55, "brier": 0.2}})
        wanted, source = bars.configured(env, "binary", performance.LIVE_METRICS["binary"])
        assert wanted == {"roc_auc": "auto", "f1": "auto"}  # brier is not measured live
        assert "auto (monitoring.min_live unset" in source
    wanted, _ = bars.configured(_env(), "regression", performance.LIVE_METRICS["regression"])
    assert wanted == {"r2": "auto"}


@pytest.mark.parametrize(
    ("monitoring", "message"),
    [
        ({"min_live": {"r2": "high"}}, r"min_live\.r2 = 'high': must be a number or auto"),
        ({"min_live": "automatic"}, r"min_live = 'automatic': must be a mapping"),
        ({"live_tolerance": 1.5}, r"live_tolerance = 1\.5: must be a share"),
        ({"live_tolerance": "low"}, r"live_tolerance = 'low'"),
    ],
)
def test_bad_bars_are_refused_naming_the_file_key_and_value(monitoring, message):
    with pytest.raises(ConfigError, match=r"environments/production\.yaml: monitoring\." + message):
        _env(monitoring)


def _regression_traffic(version: str, noise: float, n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 10, n)
    predicted = y + rng.normal(0, noise, n)
    columns = {"prediction": predicted, "probability": np.nan, "y": y}
    return pd.DataFrame({"model_version": version, "route": "stable", **columns})


def test_each_version_is_judged_by_its_own_bar_and_the_report_says_how(tmp_path):
    """v1 (holdout r2 0.98) scores r2 ~0.67 live: below its derived bar 0.735, though far above
    the r2 0.2 a typed gate asks; v2 (holdout 0.80) scoring the same passes its own bar 0.60."""
    c, env = contract("regression"), _env({}, {"min": {"r2": 0.2}})
    frame = pd.concat([_regression_traffic("v1", 5.5), _regression_traffic("v2", 5.5, seed=1)])
    holdout = {"v1": {"r2": 0.98}, "v2": {"r2": 0.80}}
    base = {v: {"trivial": {"r2": 0.0, "rmse": 10.0}, "linear": {"r2": 0.5}} for v in holdout}
    wanted, source = bars.configured(env, c.task, performance.LIVE_METRICS[c.task])
    groups = {g.version: g for g in performance.measure(frame, c, wanted, env, holdout, base)}
    v1, v2 = groups["v1"], groups["v2"]
    assert all(0.63 < g.metrics["r2"]["value"] < 0.72 for g in (v1, v2))
    assert v1.bars["r2"]["value"] == pytest.approx(0.735) and v1.status == performance.BELOW
    assert v2.bars["r2"]["value"] == pytest.approx(0.60) and v2.status == performance.OK
    assert v1.metrics["r2"]["trivial"] == 0.0 and v1.metrics["r2"]["threshold"] == 0.735
    assert v1.metrics["r2"]["high"] < 0.735 and v1.metrics["r2"]["verdict"] == "below"
    result = performance.Result("production", "m", c.task, "", wanted, source, 200,
                                [v1, v2], 2000, 2000)  # fmt: skip
    files = render.write_reports(result, tmp_path)
    md = files["markdown"].read_text()
    assert "- bar `r2` ≥ 0.735: auto: v1's holdout r2 0.98 - 0.25 x its lift over the trivial " \
           "baseline 0" in md  # fmt: skip
    saved = json.loads(files["json"].read_text())
    assert saved["thresholds"] == {"r2": "auto"}
    assert saved["groups"][0]["bars"]["r2"] == {
        "metric": "r2", "value": 0.735, "source": "auto", "how": v1.bars["r2"]["how"],
        "version": "v1", "holdout": 0.98, "trivial": 0.0, "tolerance": 0.25,
    }  # fmt: skip
    # the demo's figure: the bar of the version with the most rows, how it was set, the baseline
    fig = figure(files["json"])
    assert (fig.metric, fig.threshold, fig.trivial) == ("r2", 0.735, 0.0)
    assert fig.how.startswith("auto: v1's holdout r2 0.98")
    assert "(bar 0.735), trivial baseline 0: below threshold" in fig.describe()
    assert fig.low is None  # two versions: a row-weighted mean, no interval of its own


def test_the_demo_recovers_only_against_a_bar():
    from mlops.demos.feedback import Figure, StoryError

    unjudged = Figure("r2", 0.9, None, "ok", 500, ("v1",))
    with pytest.raises(StoryError, match="the bar: none"):
        check_recovered(unjudged, "production")
    ok = Figure("r2", 0.9, 0.735, "ok", 500, ("v1",), 0.0, "auto: v1's holdout r2 0.98 ...")
    assert check_recovered(ok, "production").endswith("the bar: auto: v1's holdout r2 0.98 ...")
