"""`mlops report` on an adopted table of each task: the task's metrics (lower is better where it
applies), plots and slices (binary and regression by a segment); a table without a segment says
plainly that there are no slices."""

from __future__ import annotations

import json
import shutil

import pytest

from mlops.core import paths
from tests.adopt import tables
from tests.adopted import TASKS, private_copy
from tests.conftest import dvc, git, mlops

pytestmark = pytest.mark.integration
PLOTS = {
    "binary": {"roc.png", "precision_recall.png", "confusion.png", "reliability.png"},
    "multiclass": {"confusion.png", "reliability.png"},
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
    # every metric beside its baselines on the same holdout
    assert "| this change | Δ | trivial baseline | linear baseline |" in md
    figures = {p.name for p in (repo / paths.PR_REPORT).parent.glob("*.png")}
    assert figures == PLOTS[task]
    assert all(f"]({png})" in md for png in PLOTS[task])
    if task == "binary":
        assert "### Slices by country" in md and "roc_auc base" in md
    elif task == "regression":
        assert "### Slices by city" in md
    else:
        assert "no segment in `contract.yaml`: no slices" in md


def _adopt(repo, table, frame) -> None:
    frame.to_parquet(table, index=False)
    mlops(repo, "data", "adopt", str(table), "--target", "bought", "--segment", "country")


def test_data_change_of_a_parquet_table_measures_drift(adopted, tmp_path):
    """The base's rows of a Parquet table come from the DVC remote (bytes, not CSV text)."""
    repo = private_copy(adopted("binary"), tmp_path)
    _adopt(repo, tmp_path / "bought.parquet", tables.binary())
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the table as Parquet")
    shifted = tables.binary(seed=9)
    shifted["age"] += 15
    shifted.to_parquet(repo / "data" / "bought.parquet", index=False)
    dvc(repo, "add", "data")
    shutil.rmtree(repo / ".dvc" / "cache")  # the base data can only come from the remote
    mlops(repo, "report", "--base", "HEAD")
    data = (repo / paths.PR_REPORT).read_text().split("### Data")[1].split("\n### ")[0]
    assert "columns drifted" in data and "could not be read" not in data
    assert next(line for line in data.splitlines() if line.startswith("| `age` |"))


def test_newly_adopted_table_says_why_drift_is_not_measured(adopted, tmp_path):
    """A pull request that adopts another table: no drift against the old one's columns, and
    no misleading "was `dvc push` run" line."""
    repo = private_copy(adopted("binary"), tmp_path)
    _adopt(repo, tmp_path / "visits.parquet", tables.binary().rename(columns={"age": "years"}))
    mlops(repo, "report", "--base", "HEAD")
    data = (repo / paths.PR_REPORT).read_text().split("### Data")[1].split("\n### ")[0]
    assert "the base's contract has no column 'years' (another table was adopted)" in data
    assert "could not be read" not in data
