"""PNG versions of the evaluation plots, for the PR comment and the README."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# No timestamp or version in the PNG metadata: the same curves give the same bytes.
_SAVE = {"dpi": 100, "metadata": {"Software": None}}


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, **_SAVE)
    plt.close(fig)


def roc(series: dict[str, list[dict]], path: Path) -> None:
    """ROC curves, one line per label (e.g. base and change)."""
    fig, ax = plt.subplots(figsize=(4, 4))
    for label, records in series.items():
        ax.plot([r["fpr"] for r in records], [r["tpr"] for r in records], label=label)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(loc="lower right")
    _save(fig, path)


def precision_recall(series: dict[str, list[dict]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(4, 4))
    for label, records in series.items():
        ax.plot([r["recall"] for r in records], [r["precision"] for r in records], label=label)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall", ylim=(0, 1.02))
    ax.legend(loc="lower left")
    _save(fig, path)


def confusion(counts: list[list[int]], path: Path) -> None:
    """A 2x2 confusion matrix: ``counts[actual][predicted]``."""
    fig, ax = plt.subplots(figsize=(3.5, 3.2))
    ax.imshow(counts, cmap="Blues")
    for a in (0, 1):
        for p in (0, 1):
            ax.text(p, a, str(counts[a][p]), ha="center", va="center")
    ax.set(xticks=[0, 1], yticks=[0, 1], xlabel="predicted", ylabel="actual", title="Confusion")
    _save(fig, path)


def draw_all(
    curves: dict[str, list[dict]], counts: list[list[int]], folder: str | Path, label: str = "model"
) -> None:
    folder = Path(folder)
    roc({label: curves["roc"]}, folder / "roc.png")
    precision_recall({label: curves["precision_recall"]}, folder / "precision_recall.png")
    confusion(counts, folder / "confusion.png")
