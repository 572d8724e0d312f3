"""Infer a data contract from a table: the pure core of `mlops data adopt`.

Rules (each decision is reported to the user as a note):

- kind per column from the dtype pandas reads: integers -> ``int``, floats -> ``float``, strings
  and booleans -> ``category`` (a column with nulls reads as float, so it becomes ``float``);
- a numeric column holding only 0 and 1 is a flag: ``int`` in [0, 1] exactly (with nulls, the
  categories {0, 1}), so 2 is refused;
- a pandas ``Categorical`` (Parquet dictionary column, R factor) is a ``category`` with its own
  categories in their order; an ordered one is marked ``ordered: true`` and trained as the
  position in that order;
- numeric ranges: the observed min and max widened by ``RANGE_MARGIN`` of the span on each side,
  never below 0 for a column that has no negative value, rounded outwards;
- categories: the observed values, up to ``CATEGORY_CAP``; a string column with more distinct
  values, or an id-like column (almost every value distinct), is kept out of the features;
- nullable when any value is missing; ``max_null_share`` is the observed share plus
  ``NULL_MARGIN``;
- a constant column (one value, or none) is kept out of the features;
- an id-like column with every value present and distinct is the contract's ``id``: the split
  keeps each row on one side by it (several: the one named like an id, else the first);
- a column kept out of the features is validated as text (``kind: category``, any value) and
  may be null: the prediction log never holds it, so rows `mlops data refresh` adds from
  labelled live traffic lack it;
- task ``auto``: strings or booleans with 2 classes -> binary, more -> multiclass; integers with
  2 values -> binary, up to ``MULTICLASS_MAX`` -> multiclass, more -> regression; fractional
  numbers -> regression.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlops.core.errors import MlopsError
from mlops.formats.contract import Column, Contract
from mlops.formats.schema import as_text

CATEGORY_CAP = 50
ID_LIKE_SHARE = 0.95
RANGE_MARGIN = 0.10
NULL_MARGIN = 0.05
MULTICLASS_MAX = 20
MISS_CHANCE = 0.05  # a class may miss a side of the split at most this often
IMBALANCED = 0.10  # a class below this share of rows: accuracy says little, adopt warns
POSITIVE_NAMES = ("1", "true", "yes", "y", "positive", "pos")


class AdoptError(MlopsError):
    """The table cannot be adopted; nothing was written."""


@dataclass
class Inferred:
    contract: Contract
    notes: list[str] = field(default_factory=list)  # what was decided, and why
    review: list[str] = field(default_factory=list)  # what the user should look at


def _fmt_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _outward(value: float, up: bool, digits: int = 4) -> float:
    """Round to ``digits`` significant digits, away from the data."""
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10 ** (digits - 1 - math.floor(math.log10(abs(value))))
    rounded = (math.ceil if up else math.floor)(value * scale) / scale
    return float(f"{rounded:.{digits + 2}g}")


def numeric_range(s: pd.Series, integer: bool) -> tuple[float, float]:
    low, high = float(s.min()), float(s.max())
    margin = (high - low) * RANGE_MARGIN
    lo, hi = low - margin, high + margin
    if low >= 0:
        lo = max(lo, 0.0)
    if integer:
        return math.floor(lo), math.ceil(hi)
    return _outward(lo, up=False), _outward(hi, up=True)


def _null_share(s: pd.Series) -> float:
    return float(s.isna().mean())


def _is_id_like(name: str, values: pd.Series, distinct: int, kind: str) -> bool:
    """Almost every value distinct (strings), or every value distinct and named like an id or
    counting up (integers). ``values`` has no nulls; ``distinct`` is its number of values."""
    if len(values) < 20 or kind == "float":
        return False
    share = distinct / len(values)
    if kind == "category":
        return share >= ID_LIKE_SHARE
    named = re.search(r"(^|[_\-\s])id$|^id", name.lower()) is not None
    return share == 1.0 and (named or values.is_monotonic_increasing)


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "category"
    if pd.api.types.is_integer_dtype(s):
        return "int"
    if pd.api.types.is_float_dtype(s):
        return "float"
    return "category"


def _excluded(name: str, why: str, notes: list[str]) -> Column:
    notes.append(f"column {name!r}: not a feature ({why}); kept in the table as feature: false")
    return Column(
        name, "category", nullable=True, max_null_share=1.0, feature=False, description=why
    )


def _is_flag(s: pd.Series, values: pd.Series) -> bool:
    """Numbers that are only ever 0 or 1 (a flag, not a quantity)."""
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    return numeric and set(values.unique().tolist()) == {0, 1}


def _share(share: float) -> str:
    """A share as a percentage that never reads as none: 1 null in 2,532 rows is 0.04%."""
    return f"{share:.1%}" if share >= 0.001 else f"{share * 100:.2g}%"


def _flag(name: str, s: pd.Series, share: float, max_share, notes: list[str]) -> Column:
    """A 0/1 column: an integer in [0, 1] exactly, or with nulls (read as floats) the categories
    {0, 1}; either way a 2 is refused."""
    notes.append(f"column {name!r}: a 0/1 flag; only 0 and 1 are valid")
    described = "0/1 flag" + (f"; {_share(share)} null in the adopted table" if share else "")
    if not share:
        return Column(name, "int", low=0, high=1, description=described)
    return Column(
        name, "category", categories=("0", "1"), nullable=True, max_null_share=max_share,
        description=described,
    )  # fmt: skip


def _categories(s: pd.Series, uniques: pd.Series) -> tuple[list[str], bool]:
    """(categories, ordered): a ``Categorical``'s own categories in their order (an R factor's
    levels, a Parquet dictionary), else the observed values sorted."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return as_text(pd.Series(s.cat.categories)).tolist(), bool(s.cat.ordered)
    return sorted(as_text(uniques).unique().tolist()), False


def infer_column(name: str, s: pd.Series, notes: list[str], segment: bool = False) -> Column:
    kind = "category" if segment else _kind(s)
    values = s.dropna()
    share = _null_share(s)
    nullable = share > 0
    max_share = min(1.0, math.ceil((share + NULL_MARGIN) * 100) / 100) if nullable else None
    described = f"{_share(share)} null in the adopted table" if nullable else ""
    uniques = pd.Series(values.unique())
    distinct = len(uniques)
    if distinct <= 1:
        first = values.iloc[0] if len(values) else None
        first = first.item() if hasattr(first, "item") else first
        why = "empty" if values.empty else f"constant: always {first!r}"
        return _excluded(name, why, notes)
    if not segment and _is_flag(s, values):
        return _flag(name, s, share, max_share, notes)
    if kind == "category":
        cats, ordered = _categories(s, uniques)
        if _is_id_like(name, values, distinct, kind) and not segment:
            return _excluded(name, f"id-like: {len(cats)} distinct values", notes)
        if len(cats) > CATEGORY_CAP:
            if segment:
                raise AdoptError(
                    f"--segment {name}: {len(cats)} distinct values; a segment needs at most "
                    f"{CATEGORY_CAP} to slice by"
                )
            why = f"high cardinality: {len(cats)} distinct values, cap {CATEGORY_CAP}"
            return _excluded(name, why, notes)
        if ordered and not segment:
            notes.append(f"column {name!r}: ordered categories {cats}; trained as their position")
        return Column(
            name,
            kind,
            categories=tuple(cats),
            nullable=nullable,
            max_null_share=max_share,
            description=described,
            ordered=ordered and not segment,
        )
    if _is_id_like(name, values, distinct, kind):
        return _excluded(name, "id-like: every value distinct", notes)
    low, high = numeric_range(values, kind == "int")
    return Column(
        name,
        kind,
        low=_fmt_number(low),
        high=_fmt_number(high),
        nullable=nullable,
        max_null_share=max_share,
        description=described,
    )


# ---------------------------------------------------------------------------------- target


def _labels(s: pd.Series) -> pd.Series:
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
    labels = _labels(s)
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


# ----------------------------------------------------------------------------------- table


def model_name(stem: str) -> str:
    """A registry name from a file name: ``Breast Cancer.csv`` -> ``breast-cancer-model``."""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "table"
    return f"{slug}-model"


def infer_contract(
    df: pd.DataFrame,
    *,
    target: str,
    data: str,
    name: str,
    task: str = "auto",
    segment: str | None = None,
    positive: str | None = None,
    holdout_size: float = 0.2,
) -> Inferred:
    """The contract of ``df`` with the target and choices given; refuses with ``AdoptError``."""
    if df.empty or len(df.columns) == 0:
        raise AdoptError("the table has no rows" if len(df.columns) else "the table has no columns")
    if target not in df.columns:
        shown = ", ".join(map(str, list(df.columns)[:20]))
        raise AdoptError(f"--target {target}: no such column; the table has: {shown}")
    if segment is not None and segment not in df.columns:
        raise AdoptError(f"--segment {segment}: no such column")
    if segment == target:
        raise AdoptError(f"--segment {segment} is the target; choose another column")
    task, classes, label, notes = infer_target(df[target], target, task, positive, holdout_size)
    columns = tuple(
        infer_column(c, df[c], notes, segment=(c == segment)) for c in df.columns if c != target
    )
    if not any(c.feature for c in columns):
        raise AdoptError("no column can be a feature (all constant, id-like or high-cardinality)")
    ident = id_column(df, columns)
    if ident is not None:
        notes.append(describe_id(ident))
    contract = Contract(
        model=name,
        task=task,
        data=data,
        target=target,
        columns=columns,
        classes=classes,
        positive=label,
        segment=segment,
        id_column=ident,
    )
    review = _review(contract)
    warning = imbalance(_labels(df[target]), contract.task) if contract.classification else None
    if warning:
        notes.append("warning: " + warning)
        review.insert(0, warning)
    return Inferred(contract, notes, review)


def id_column(df: pd.DataFrame, columns: tuple[Column, ...]) -> str | None:
    """The row id among the id-like columns: every value present and distinct; the one named
    like an id first, else the first in the table."""
    found = [
        c.name for c in columns
        if c.description.startswith("id-like") and df[c.name].notna().all()
        and df[c.name].is_unique
    ]  # fmt: skip
    named = [n for n in found if re.search(r"(^|[_\-\s])id$|^id", str(n).lower())]
    return (named or found or [None])[0]


def describe_id(name: str) -> str:
    """What adopt tells about the id column: the split's row identity and the outcome join."""
    return (
        f"column {name!r}: the row id (contract.yaml id): the split keeps each row on one side "
        f"by it. Outcomes join to predictions by request id: send a row's {name} as "
        f"X-Request-ID (one record per request), then an outcome file's request_id is its {name}"
    )


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


def _review(c: Contract) -> list[str]:
    out = [
        "ranges and categories in contract.yaml are what this table holds (ranges widened by "
        f"{RANGE_MARGIN:.0%}): tighten them to what valid data may hold",
        "columns with feature: false stay out of the model; set feature: true to use one",
        "add a description to each column and a top-level description (the model card's purpose)",
        "the gates in environments/*.yaml are defaults for the task: set the bar your use needs",
    ]
    if not c.segment:
        out.append("no --segment: no slice metrics; pass --segment COL to slice by a category")
    return out
