"""Infer the target of a table for `mlops data adopt`: the task, the classes, the positive
class, and whether every class is large enough for the split; warn of an imbalanced target."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mlops.core.errors import MlopsError
from mlops.formats.schema import as_text

MULTICLASS_MAX = 20
MISS_CHANCE = 0.05  # a class may miss a side of the split at most this often
IMBALANCED = 0.10  # a class below this share of rows: accuracy says little, adopt warns
POSITIVE_NAMES = ("1", "true", "yes", "y", "positive", "pos")


class AdoptError(MlopsError):
    """The table cannot be adopted; nothing was written."""


def class_labels(s: pd.Series) -> pd.Series:
    """Class labels as the contract stores them: integers stay integers, the rest strings."""
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if numeric and (pd.api.types.is_integer_dtype(s) or (s == s.round()).all()):
        return s.astype("int64")
    return as_text(s)


def infer_task(s: pd.Series, name: str) -> tuple[str, str]:
    """(task, why) for ``--task auto``."""
    distinct = s.nunique()
    textual = pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s)
    if textual:
        kind = "binary" if distinct == 2 else "multiclass"
        return kind, f"target {name!r} holds {distinct} distinct non-numeric labels"
    integral = pd.api.types.is_integer_dtype(s) or bool((s == s.round()).all())
    if not integral:
        return "regression", f"target {name!r} holds fractional numbers"
    if distinct == 2:
        return "binary", f"target {name!r} holds exactly 2 distinct integers"
    if distinct <= MULTICLASS_MAX:
        return "multiclass", (
            f"target {name!r} holds {distinct} distinct integers (at most {MULTICLASS_MAX}: "
            "classes; pass --task regression if they are quantities)"
        )
    return (
        "regression",
        f"target {name!r} holds {distinct} distinct integers (over {MULTICLASS_MAX})",
    )


def _check_task(task: str, s: pd.Series, name: str) -> None:
    distinct = s.nunique()
    if task == "binary" and distinct != 2:
        raise AdoptError(f"--task binary: target {name!r} has {distinct} classes, not 2")
    if task == "multiclass" and distinct < 3:
        raise AdoptError(f"--task multiclass: target {name!r} has {distinct} classes; use binary")
    if task == "regression" and (
        pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s)
    ):
        raise AdoptError(f"--task regression: target {name!r} is not numeric ({s.dtype})")
    if task != "regression" and distinct > 1000:
        raise AdoptError(f"--task {task}: target {name!r} has {distinct} classes; too many")


def _positive(labels: list, given: str | None, counts: pd.Series) -> tuple[Any, str]:
    if given is not None:
        match = [c for c in labels if str(c) == given]
        if not match:
            raise AdoptError(f"--positive-label {given!r} is not a class of the target {labels}")
        return match[0], "as given by --positive-label"
    if sorted(labels, key=str) in ([0, 1], ["False", "True"]):
        return labels[-1], "the usual positive of 0/1 and False/True"
    named = [c for c in labels if str(c).lower() in POSITIVE_NAMES]
    if len(named) == 1:
        return named[0], f"its name {named[0]!r} reads as positive"
    minority = counts.sort_values(kind="stable").index[0]
    return minority, "the minority class (pass --positive-label to choose)"


def check_class_sizes(labels: pd.Series, name: str, holdout_size: float) -> None:
    """Every class must be likely to reach both the training and the holdout side. The split
    assigns each row by a hash of its identity (``holdout_size`` of the rows, on average, not a
    quota per class), so a class of k rows lands wholly on one side with probability
    ``max(h, 1 - h) ** k``: at least ``MISS_CHANCE`` asks for enough rows to keep that small."""
    need = max(2, math.ceil(math.log(MISS_CHANCE) / math.log(max(holdout_size, 1 - holdout_size))))
    counts = labels.value_counts()
    small = counts[counts < need]
    if len(small):
        shown = ", ".join(f"{k!r} ({v} rows)" for k, v in small.items())
        raise AdoptError(
            f"target {name!r}: class {shown} too small to reach both the training and the holdout "
            f"side of the split (holdout_size {holdout_size}, rows assigned by a hash of their "
            f"identity): every class needs at least {need} rows. Drop or merge those rows"
        )


def infer_target(
    s: pd.Series, name: str, task: str, positive: str | None, holdout_size: float
) -> tuple[str, tuple, Any, list[str]]:
    """(task, classes, positive label, notes) for the target column."""
    if s.isna().any():
        raise AdoptError(
            f"target {name!r}: {int(s.isna().sum())} row(s) have no value; drop or fill them first"
        )
    if s.nunique() < 2:
        value = s.iloc[0].item() if hasattr(s.iloc[0], "item") else s.iloc[0]
        raise AdoptError(f"target {name!r} is constant ({value!r}): there is nothing to learn")
    notes = []
    if task == "auto":
        task, why = infer_task(s, name)
        notes.append(f"task: {task}, because {why}")
    else:
        _check_task(task, s, name)
        notes.append(f"task: {task} (as given)")
    if task == "regression":
        return task, (), None, notes
    labels = class_labels(s)
    check_class_sizes(labels, name, holdout_size)
    counts = labels.value_counts()
    classes = tuple(sorted(counts.index.tolist(), key=lambda c: (str(type(c)), c)))
    notes.append("class balance: " + ", ".join(
        f"{c!r} {counts[c]} rows ({counts[c] / len(labels):.1%})" for c in classes
    ))  # fmt: skip
    if task != "binary":
        if positive is not None:
            raise AdoptError("--positive-label is for a binary task only")
        return task, classes, None, notes
    label, why = _positive(list(classes), positive, counts)
    notes.append(f"positive class: {label!r}, {why}")
    return task, classes, label, notes


# what to judge an imbalanced model by, per task: the gates and the card show these
JUDGE_BY = {
    "binary": "roc_auc, precision and recall at its threshold (the default gates judge "
    "roc_auc), and set evaluate.threshold for the errors you can afford",
    "multiclass": "macro F1 and the recall of each class (the card shows them; the default "
    "gates ask for accuracy above the majority share and judge regressions on macro F1)",
}


def imbalance(labels: pd.Series, task: str = "binary") -> str | None:
    """A warning when a class is rarer than ``IMBALANCED``: what a constant model scores."""
    shares = labels.value_counts(normalize=True)
    if shares.iloc[-1] >= IMBALANCED:
        return None
    return (
        f"imbalanced target: class {shares.index[-1]!r} is {shares.iloc[-1]:.1%} of rows; always "
        f"answering {shares.index[0]!r} scores accuracy {shares.iloc[0]:.3f}. Judge the model by "
        + JUDGE_BY[task]
    )
