"""`make demo` checks its rollout steps too: the story stops when `mlops performance` did not
report the shadow beside the stable it ran beside."""

from __future__ import annotations

import json

import pytest

from mlops.demos import sandbox
from mlops.demos.feedback import StoryError
from mlops.demos.rollouts import _shadow_line


def _report(sb: sandbox.Sandbox, groups: list[dict]) -> None:
    path = sb.work / "reports" / "performance" / "performance.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"groups": groups, "thresholds": {"roc_auc": 0.75}}))


def _group(version: str, route: str, value: float) -> dict:
    """The thresholded metric is told, whatever comes first."""
    metrics = {"accuracy": {"value": 0.5}, "roc_auc": {"value": value}}
    return {"version": version, "route": route, "metrics": metrics}


def test_the_shadow_is_told_beside_the_stable_on_the_same_requests(tmp_path):
    sb = sandbox.Sandbox(tmp_path)
    _report(sb, [_group("v1.0.0", "stable", 0.7012), _group("v1.2.0", "shadow", 0.8123)])
    assert _shadow_line(sb, "v1.0.0", "v1.2.0") == (
        "live roc_auc on the same labelled requests: v1.0.0 (stable) 0.7012 vs "
        "v1.2.0 (shadow) 0.8123"
    )


def test_a_shadow_missing_from_the_report_stops_the_story(tmp_path):
    sb = sandbox.Sandbox(tmp_path)
    _report(sb, [_group("v1.0.0", "stable", 0.7012)])
    with pytest.raises(StoryError, match=r"did not report v1\.2\.0.s shadow beside v1\.0\.0"):
        _shadow_line(sb, "v1.0.0", "v1.2.0")
