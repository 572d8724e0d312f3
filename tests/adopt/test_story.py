"""`make demo` checks its own ending: a retrained version below its live bar stops the run."""

from __future__ import annotations

import pytest

from mlops.demos.feedback import Figure, StoryError, Undecided, check_recovered


def test_a_retrain_below_its_live_bar_fails_the_story_saying_why():
    below = Figure("r2", -0.9, 0.2, "below threshold", 2000, ("v1.2.0",))
    with pytest.raises(StoryError) as caught:
        check_recovered(below, "production")
    message = str(caught.value)
    assert "did not recover" in message and "r2 -0.9000 (bar 0.2)" in message
    assert "monitoring.min_live" in message and "refresh.keep_rows" in message
    assert caught.value.exit_code == 1
    with pytest.raises(StoryError, match="no live figure"):
        check_recovered(None, "production")


def test_a_retrain_at_its_live_bar_tells_the_recovery():
    ok = Figure("roc_auc", 0.82, 0.75, "ok", 2000, ("v1.2.0",))
    told = check_recovered(ok, "production")
    assert told.startswith("live performance recovered, at or above its bar: roc_auc 0.8200")


def test_a_retrain_below_its_bar_within_noise_is_undecided_not_recovered():
    """After the retrain and every round the table could give, roc_auc 0.7552 [0.7173, 0.7930]
    on 880 rows against a bar of 0.7729: neither met nor missed, so the story does not call it
    a recovery; it says how many rows it had and the interval around the bar (exit 3)."""
    noisy = Figure("roc_auc", 0.7552, 0.7729, "within noise of its bar", 880, ("v1.2.0",),
                   0.5, "auto: v1.2.0's holdout roc_auc 0.8638 ...", 0.7173, 0.7930)  # fmt: skip
    with pytest.raises(Undecided) as caught:
        check_recovered(noisy, "production", rounds=2, used_up=True)
    told = str(caught.value)
    assert told.startswith(
        "too few labelled rows to tell on this table: 880 rows, interval [0.7173, 0.7930] "
        "around the bar 0.7729 (roc_auc 0.7552 after the retrain, 2 more round(s)"
    )
    assert "recovered" not in told and caught.value.exit_code == 3
    beyond = Figure("roc_auc", 0.70, 0.7729, "below threshold", 880, ("v1.2.0",), 0.5, "auto",
                    0.66, 0.74)  # fmt: skip
    with pytest.raises(StoryError, match=r"roc_auc 0.7000 \[0.6600, 0.7400\] \(bar 0.7729\)"):
        check_recovered(beyond, "production")


def test_a_small_table_leaves_rows_for_every_round_and_running_out_is_not_a_crash():
    """The rounds after the drift never reuse a row; on a table of a few thousand rows the
    drifted, shadow and fresh rounds leave half of it for the canary's looks, and a pool used
    up gives no records (the story then stops saying so) instead of a sampling error."""
    import numpy as np
    import pandas as pd

    from mlops.demos import traffic
    from mlops.demos.loop import _sizes
    from tests.feedback.contracts import contract

    sizes = _sizes(pd.DataFrame(index=range(2532)))  # a survey's table
    assert sizes["drifted"] + sizes["shadow"] + sizes["fresh"] <= 2532 // 2
    assert _sizes(pd.DataFrame(index=range(40_000))) == {
        "normal": 600, "drifted": 4000, "shadow": 2000, "fresh": 2000}  # fmt: skip
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(0, 10, 80), "y": rng.integers(0, 2, 80),
                          "colour": rng.choice(["red", "green", "blue"], 80)})  # fmt: skip
    c = contract("binary")
    first = traffic.labelled(table, c, 50, seed=1, drift=1.0, mirror=True)
    second = traffic.labelled(table, c, 50, seed=2, drift=1.0, mirror=True, exclude=first.rows)
    assert len(first.records) == 50 and len(second.records) == 30
    assert not set(first.rows) & set(second.rows)
    left = traffic.labelled(table, c, 50, seed=3, drift=1.0, exclude=first.rows.append(second.rows))
    assert (left.records, left.outcomes, len(left.rows)) == ([], [], 0)
