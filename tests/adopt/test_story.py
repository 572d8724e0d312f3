"""`make demo` checks its own ending: a retrained version below its live bar stops the run."""

from __future__ import annotations

import pytest

from mlops.demos.feedback import Figure, StoryError, check_recovered


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
    assert check_recovered(ok, "production").startswith("live performance recovered: roc_auc")
