"""PNG plots for the comment, per task, next to the markdown so relative links (and CML's
``--publish``) find them."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlops.core import paths
from mlops.evaluation import figures
from mlops.report.sides import Side

# The evaluate stage's PNGs the comment shows as they are (drawn from every holdout row).
AS_DRAWN = {
    "confusion": "Confusion matrix (this change)",
    "reliability": "Reliability: observed rate against mean score (this change)",
    "predicted_vs_actual": "Predicted vs actual (this change)",
    "residuals": "Residuals (this change)",
}


def draw(
    root: Path, base: Side, new: Side, folder: Path, task: str = "binary"
) -> tuple[dict[str, str], list[str]]:
    """The task's plots (binary: ROC and precision-recall of both sides, confusion, reliability;
    multiclass: confusion, reliability; regression: predicted vs actual, residuals); return
    {title: file name} and notes about what is missing."""
    from mlops.stages.evaluate import PLOT_FILES

    drawn: dict[str, str] = {}
    notes: list[str] = []
    if task == "binary":
        _compare(base, new, folder, drawn, notes)
    for name in PLOT_FILES[task]:
        if name not in AS_DRAWN:
            continue
        source = root / paths.FIGURES / f"{name}.png"
        if source.is_file():
            shutil.copyfile(source, folder / f"{name}.png")
            drawn[AS_DRAWN[name]] = f"{name}.png"
        else:
            notes.append(f"no `{paths.FIGURES}/{name}.png` in the workspace (`dvc repro` draws it)")
    return drawn, notes


def _compare(base: Side, new: Side, folder: Path, drawn: dict, notes: list) -> None:
    """ROC and precision-recall of the base and the change on one plot each."""
    for name, title, plot in (
        ("roc", "ROC", figures.roc),
        ("precision_recall", "Precision-recall", figures.precision_recall),
    ):
        series = {side.label: side.curves[name] for side in (base, new) if name in side.curves}
        if new.label not in series:
            notes.append(f"no {title} curve in the workspace (`dvc repro` writes it)")
            continue
        if base.label not in series:
            notes.append(f"{title}: the base has no curve to draw against")
        plot(series, folder / f"{name}.png")
        drawn[title] = f"{name}.png"
