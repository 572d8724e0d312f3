"""PNG plots for the comment, drawn next to the markdown so relative links (and CML's
``--publish``) find them."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlops import figures, paths
from mlops.report.sides import Side


def draw(root: Path, base: Side, new: Side, folder: Path) -> tuple[dict[str, str], list[str]]:
    """Draw what the curves allow; return {title: file name} and notes about what is missing."""
    drawn: dict[str, str] = {}
    notes: list[str] = []
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
    # The evaluate stage drew the change's confusion matrix from exact counts; reuse it.
    confusion = root / paths.FIGURES / "confusion.png"
    if confusion.is_file():
        shutil.copyfile(confusion, folder / "confusion.png")
        drawn["Confusion matrix (this change)"] = "confusion.png"
    else:
        notes.append(f"no `{paths.FIGURES}/confusion.png` in the workspace (`dvc repro` draws it)")
    return drawn, notes
