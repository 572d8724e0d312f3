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

import pandas as pd

from mlops.data.infer_target import AdoptError, class_labels, imbalance, infer_target
from mlops.formats.contract import Column, Contract
from mlops.formats.schema import as_text

CATEGORY_CAP = 50
ID_LIKE_SHARE = 0.95
RANGE_MARGIN = 0.10
NULL_MARGIN = 0.05


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
    warning = None
    if contract.classification:
        warning = imbalance(class_labels(df[target]), contract.task)
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
