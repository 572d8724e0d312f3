"""`mlops report` on an adopted table of each task: the task's metrics (lower is better where it
applies), plots and slices; a table without a segment says plainly that there are no slices."""

from __future__ import annotations

import json

import pytest

from mlops import paths
from tests.adopted import TASKS, private_copy
from tests.conftest import mlops

pytestmark = pytest.mark.integration
PLOTS = {
    "binary": {"roc.png", "precision_recall.png", "confusion.png"},
    "multiclass": {"confusion.png"},
    "regression": {"predicted_vs_actual.png", "residuals.png"},
}
# a metric of the task and a change that is an improvement
BETTER = {
    "binary": ("roc_auc", +0.01),
    "multiclass": ("macro_f1", +0.01),
    "regression": ("rmse", -500.0),
}


@pytest.mark.parametrize("task", TASKS)
def test_report_per_task(task, adopted, tmp_path):
    repo = private_copy(adopted(task), tmp_path)
    metrics = json.loads((repo / paths.METRICS).read_text())
    name, change = BETTER[task]
    (repo / paths.METRICS).write_text(json.dumps({**metrics, name: metrics[name] + change}))
    mlops(repo, "report", "--base", "HEAD")
    md = (repo / paths.PR_REPORT).read_text()
    row = next(line for line in md.splitlines() if line.startswith(f"| `{name}` |"))
    assert "🟢" in row, row  # better, whichever direction better is
    for metric in metrics:
        assert f"| `{metric}` |" in md
    figures = {p.name for p in (repo / paths.PR_REPORT).parent.glob("*.png")}
    assert figures == PLOTS[task]
    assert all(f"]({png})" in md for png in PLOTS[task])
    if task == "binary":
        assert "### Slices by country" in md and "roc_auc base" in md
    else:
        assert "no segment in `contract.yaml`: no slices" in md
