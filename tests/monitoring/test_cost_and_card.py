"""Cost per 1,000 predictions, and the model card the pipeline writes."""

from __future__ import annotations

import pytest
import yaml

from mlops.core import paths
from mlops.evaluation import cost
from mlops.model import card
from tests.conftest import ROOT, dvc, git

pytestmark = pytest.mark.integration


def test_cost_per_1000_predictions_from_cpu_time():
    # 1 CPU-ms per row at $0.05 per CPU-hour: 1000 rows = 1 CPU-second = $0.05 / 3600
    assert cost.usd_per_1000(1.0, 0.05) == pytest.approx(0.05 / 3600)
    assert cost.from_counters(cpu_seconds=2.0, rows=1000, usd_per_cpu_hour=0.05) == pytest.approx(
        cost.usd_per_1000(2.0, 0.05)
    )
    assert cost.from_counters(0.0, 0, 0.05) is None  # before the first prediction
    assert cost.from_serving_budget({"cpu_ms_per_row_100": 0.5}, 0.05, 100) == pytest.approx(
        0.5 * 0.05 / 3600
    )
    assert cost.format_usd(0.0000072) == "$0.0000072" and cost.format_usd(None) == "n/a"
    with pytest.raises(ValueError, match="usd_per_cpu_hour"):
        cost.usd_per_1000(1.0, -1)


def test_card_stage_is_declared_like_the_others():
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["card"]
    assert stage["cmd"] == "python -m mlops.stages.card"
    assert (
        "src/mlops/stages/card.py" in stage["deps"] and "src/mlops/model/card.py" in stage["deps"]
    )
    assert {paths.METRICS, paths.SLICES, paths.SERVING, paths.MODEL} <= set(stage["deps"])
    assert stage["outs"] == [{paths.MODEL_CARD: {"cache": False}}]


def test_pipeline_writes_a_reproducible_card(built_repo):
    text = (built_repo / paths.MODEL_CARD).read_text()
    for section in ("Purpose", "Intended use", "Limits", "Training data", "Features", "Metrics",
                    "Slices", "Gaps between segments", "Serving budget", "Lineage",
                    "How to retrain"):  # fmt: skip
        assert f"## {section}" in text or f"### {section}" in text
    data_md5 = yaml.safe_load((built_repo / "data.dvc").read_text())["outs"][0]["md5"]
    sides = [
        (built_repo / path).read_text().count("\n") - 1  # CSV rows without the header
        for path in (paths.TRAIN, paths.VALIDATION_SPLIT, paths.HOLDOUT)
    ]
    assert sum(sides) == 3000 and min(sides) > 0
    train, validation, holdout = sides
    assert (
        data_md5 in text
        and (
            f"3000 rows: {train} for training, {validation} for choosing the threshold, "
            f"{holdout} holdout"
        )
        in text
    )
    assert "`support_tickets` | int | 0 – 50" in text  # features come from the data schema
    assert "Cost per 1,000 predictions" in text and "| production | 0.05 |" in text
    # no commit in the workspace card: the same inputs give the same bytes on any commit
    assert git(built_repo, "rev-parse", "HEAD") not in text
    assert card.render(built_repo) == text
    assert "changed" not in dvc(built_repo, "status", "card").stdout


def test_register_renders_the_card_with_version_and_commit(built_repo):
    from mlops.model import registry

    metadata = registry.workspace_metadata(built_repo)
    text = card.render(built_repo, version="v1.4.0", metadata=metadata)
    assert text.startswith("# Model card: churn-model v1.4.0")
    assert f"- Commit: `{metadata['commit']}`" in text
    assert metadata["sha256"] in text
