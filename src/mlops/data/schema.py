"""The one definition of the data: columns, dtypes, ranges and categories.

Training (the validate stage) and serving (request validation) both build their checks from
``COLUMNS``, so the two can never disagree about what a valid record is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

TARGET = "churn"
SEGMENT = "region"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "int", "float" or "category"
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] = ()
    nullable: bool = False
    description: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float")


COLUMNS: tuple[Column, ...] = (
    Column("tenure_months", "int", 0, 120, description="months since the customer signed up"),
    Column("monthly_charges", "float", 0, 500, description="current monthly bill, USD"),
    Column(
        "total_charges",
        "float",
        0,
        60_000,
        nullable=True,
        description="billed so far, USD; missing for some new accounts",
    ),
    Column("support_tickets", "int", 0, 50, description="support tickets in the last 90 days"),
    Column("senior_citizen", "int", 0, 1, description="1 if the customer is 65 or older"),
    Column(
        "contract",
        "category",
        categories=("month-to-month", "one-year", "two-year"),
        description="contract term",
    ),
    Column(
        "payment_method",
        "category",
        categories=("electronic-check", "mailed-check", "bank-transfer", "credit-card"),
        description="how the customer pays",
    ),
    Column(
        "internet_service",
        "category",
        categories=("dsl", "fiber", "none"),
        description="internet product",
    ),
    Column(
        SEGMENT,
        "category",
        categories=("north", "south", "east", "west"),
        description="sales region; the segment for slice metrics",
    ),
)

FEATURES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
NUMERIC: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.numeric)
CATEGORICAL: tuple[str, ...] = tuple(c.name for c in COLUMNS if not c.numeric)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}

# pandas dtype each column is read as; ints are nullable-free int64, floats float64.
_DTYPES = {"int": "int64", "float": "float64", "category": "str"}


def dtypes(with_target: bool = True) -> dict[str, str]:
    """Column name -> the dtype training and serving frames use."""
    out = {c.name: _DTYPES[c.kind] for c in COLUMNS}
    if with_target:
        out[TARGET] = "int64"
    return out


def _checks(col: Column) -> list[pa.Check]:
    if col.numeric:
        return [pa.Check.in_range(col.low, col.high)]
    return [pa.Check.isin(list(col.categories))]


def _dtype(col: Column):
    return {"int": pa.Int64, "float": pa.Float64, "category": pa.String}[col.kind]


def _null_share_check(max_null_share: float) -> pa.Check:
    return pa.Check(
        lambda s: s.isna().mean() <= max_null_share,
        element_wise=False,
        error=f"null share above max_null_share={max_null_share}",
        name="max_null_share",
        ignore_na=False,
    )


def frame_schema(
    *,
    min_rows: int = 1,
    max_null_share: float = 0.0,
    max_duplicate_share: float = 1.0,
    with_target: bool = True,
) -> pa.DataFrameSchema:
    """The pandera schema for a training table (with target) or a serving batch (without).

    Nullable columns may hold nulls up to ``max_null_share``; the others none at all.
    """
    columns = {
        c.name: pa.Column(
            _dtype(c),
            checks=_checks(c) + ([_null_share_check(max_null_share)] if c.nullable else []),
            nullable=c.nullable,
            description=c.description,
        )
        for c in COLUMNS
    }
    frame_checks = []
    if with_target:
        columns[TARGET] = pa.Column(pa.Int64, checks=[pa.Check.isin([0, 1])])
        frame_checks.append(
            pa.Check(
                lambda df: df[TARGET].nunique() == 2,
                error="target must contain both classes 0 and 1",
                name="both_target_classes",
            )
        )
    frame_checks += [
        pa.Check(
            lambda df: len(df) >= min_rows,
            error=f"fewer rows than min_rows={min_rows}",
            name="min_rows",
        ),
        pa.Check(
            lambda df: df.duplicated().mean() <= max_duplicate_share if len(df) else True,
            error=f"duplicate row share above max_duplicate_share={max_duplicate_share}",
            name="max_duplicate_share",
        ),
    ]
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=True, coerce=False)


def read_table(path) -> pd.DataFrame:
    """Read a CSV table as written by the generator; the schema judges the dtypes it finds."""
    return pd.read_csv(path)


def write_table(df: pd.DataFrame, path) -> None:
    """Write CSV with a fixed float format and line ending, so equal tables give equal md5s."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, float_format="%.2f", lineterminator="\n")
