"""PNG versions of the evaluation plots, for the PR comment and the model card.

Drawn with matplotlib's object API (a ``Figure`` saved through the Agg canvas): no pyplot, no
backend to select and no figure manager, so a process that draws nothing imports no matplotlib
and one that does pays only for what it draws. The bytes are the ones pyplot's Agg backend
writes (tests/unit/test_figures.py holds them equal).
"""

from __future__ import annotations

from pathlib import Path

# No timestamp or version in the PNG metadata: the same curves give the same bytes.
_SAVE = {"dpi": 100, "metadata": {"Software": None}}


def _axes(figsize: tuple[float, float]):
    """A new figure (not registered with pyplot, so nothing to close) and its one axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, **_SAVE)


def roc(series: dict[str, list[dict]], path: Path) -> None:
    """ROC curves, one line per label (e.g. base and change)."""
    fig, ax = _axes((4, 4))
    for label, records in series.items():
        ax.plot([r["fpr"] for r in records], [r["tpr"] for r in records], label=label)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(loc="lower right")
    _save(fig, path)


def precision_recall(series: dict[str, list[dict]], path: Path) -> None:
    fig, ax = _axes((4, 4))
    for label, records in series.items():
        ax.plot([r["recall"] for r in records], [r["precision"] for r in records], label=label)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall", ylim=(0, 1.02))
    ax.legend(loc="lower left")
    _save(fig, path)


def confusion(labels: list[str], counts: list[list[int]], path: Path) -> None:
    """A confusion matrix: ``counts[actual][predicted]`` over ``labels``."""
    n = len(labels)
    size = min(3.2 + 0.45 * max(n - 2, 0), 9)
    fig, ax = _axes((size + 0.3, size))
    ax.imshow(counts, cmap="Blues")
    for a in range(n):
        for p in range(n):
            ax.text(p, a, str(counts[a][p]), ha="center", va="center", fontsize=8 if n > 6 else 10)
    ticks = list(range(n))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="actual", title="Confusion")
    ax.set_xticklabels(labels, rotation=45 if n > 3 else 0, ha="right" if n > 3 else "center")
    ax.set_yticklabels(labels)
    _save(fig, path)


def predicted_vs_actual(records: list[dict], path: Path) -> None:
    """Regression: each holdout row's prediction against its actual value, and the diagonal."""
    fig, ax = _axes((4, 4))
    actual = [r["actual"] for r in records]
    ax.scatter(actual, [r["predicted"] for r in records], s=4, alpha=0.4)
    low, high = min(actual), max(actual)
    ax.plot([low, high], [low, high], linestyle=":", color="grey")
    ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
    _save(fig, path)


def residuals(records: list[dict], path: Path) -> None:
    """Regression: residual (actual - predicted) against the prediction."""
    fig, ax = _axes((4, 4))
    ax.scatter([r["predicted"] for r in records], [r["residual"] for r in records], s=4, alpha=0.4)
    ax.axhline(0, linestyle=":", color="grey")
    ax.set(xlabel="predicted", ylabel="actual - predicted", title="Residuals")
    _save(fig, path)


def reliability(records: list[dict], path: Path) -> None:
    """Classification: observed rate against mean score per bin; the diagonal is calibrated."""
    fig, ax = _axes((4, 4))
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.plot([r["predicted"] for r in records], [r["observed"] for r in records], marker="o")
    ax.set(xlabel="mean score", ylabel="observed rate", title="Reliability", xlim=(0, 1))
    _save(fig, path)


def draw_all(task: str, result: dict, folder: str | Path, label: str = "model") -> None:
    """The task's PNGs from the evaluate stage's result (curves and the exact confusion)."""
    folder = Path(folder)
    curves = result["curves"]
    if task == "binary":
        roc({label: curves["roc"]}, folder / "roc.png")
        precision_recall({label: curves["precision_recall"]}, folder / "precision_recall.png")
    if task in ("binary", "multiclass"):
        cm = result["confusion"]
        confusion(cm["labels"], cm["counts"], folder / "confusion.png")
        reliability(curves["reliability"], folder / "reliability.png")
    if task == "regression":
        predicted_vs_actual(curves["predicted_vs_actual"], folder / "predicted_vs_actual.png")
        residuals(curves["residuals"], folder / "residuals.png")
