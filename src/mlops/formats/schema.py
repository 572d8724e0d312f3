"""Tables against the contract: the pandera schema, reading (CSV or Parquet) and writing.

Training (the validate stage) and serving (request validation) both build their checks from the
one contract (``mlops.formats.contract``), so the two can never disagree about what a valid record
is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mlops.core.errors import MlopsError

if TYPE_CHECKING:  # the contract calls in here (read_table, frame_schema): a type, not an import
    import pandera.pandas as pa

    from mlops.formats.contract import Column, Contract


def _pandera():
    """pandera, imported where a schema is built: reading and writing tables (every stage but
    validate) does not need its ~0.3 s of imports."""
    import pandera.pandas as pa

    return pa


def _checks(col: Column) -> list[pa.Check]:
    pa = _pandera()
    if col.numeric:
        low = -float("inf") if col.low is None else col.low
        high = float("inf") if col.high is None else col.high
        return [pa.Check.in_range(low, high)]
    return [pa.Check.isin(list(col.categories))] if col.categories else []


def _dtype(col: Column):
    pa = _pandera()
    return {"int": pa.Int64, "float": pa.Float64, "category": pa.String}[col.kind]


def _null_share_check(max_null_share: float) -> pa.Check:
    pa = _pandera()
    return pa.Check(
        lambda s: s.isna().mean() <= max_null_share,
        element_wise=False,
        error=f"null share above max_null_share={max_null_share}",
        name="max_null_share",
        ignore_na=False,
    )


def _column(col: Column, max_null_share: float) -> pa.Column:
    pa = _pandera()
    share = max_null_share if col.max_null_share is None else col.max_null_share
    return pa.Column(
        _dtype(col),
        checks=_checks(col) + ([_null_share_check(share)] if col.nullable else []),
        nullable=col.nullable,
        description=col.description,
    )


def _target_column(contract: Contract) -> tuple[pa.Column, list[pa.Check]]:
    pa = _pandera()
    name = contract.target
    if not contract.classification:
        return pa.Column(pa.Float64), []
    dtype = pa.Int64 if contract.target_dtype() == "int64" else pa.String
    every = pa.Check(
        lambda df: df[name].nunique() == len(contract.classes),
        error=f"target must contain every class of the contract: {list(contract.classes)}",
        name="every_target_class",
    )
    return pa.Column(dtype, checks=[pa.Check.isin(list(contract.classes))]), [every]


def frame_schema(
    contract: Contract,
    *,
    min_rows: int = 1,
    max_null_share: float = 0.0,
    max_duplicate_share: float = 1.0,
    with_target: bool = True,
) -> pa.DataFrameSchema:
    """The pandera schema for a training table (with target, every column) or a serving batch
    (without: the features only). Nullable columns may hold nulls up to their
    ``max_null_share`` (else ``max_null_share`` here); the others none at all."""
    pa = _pandera()
    cols = contract.columns if with_target else [c for c in contract.columns if c.feature]
    columns = {c.name: _column(c, max_null_share) for c in cols}
    frame_checks = []
    if with_target:
        columns[contract.target], frame_checks = _target_column(contract)
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


class TableError(MlopsError):
    """A table cannot be read (missing, unreadable, an unsupported format)."""


def read_raw(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet table as pandas reads it; the contract's schema judges the dtypes."""
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise TableError(f"{path}: cannot read the table ({exc})".splitlines()[0]) from exc


def as_text(s: pd.Series) -> pd.Series:
    """Category values as strings, the one spelling adopt infers and every reader coerces to:
    ``1.0`` -> ``"1"`` (integer codes with nulls read back as floats), ``True`` -> ``"True"``;
    nulls stay nulls; a ``Categorical``'s values are its categories' text."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        names = as_text(pd.Series(s.cat.categories)).tolist()
        s = s.cat.rename_categories(names).astype(object)
    if pd.api.types.is_float_dtype(s) and (s.dropna() == s.dropna().round()).all():
        s = s.astype("Int64")
    return s.astype("str").where(s.notna(), None).astype("str")


def _is_str(s: pd.Series) -> bool:
    """Plain strings; a pandas ``Categorical`` (Parquet dictionary, R factor) is not: its values
    are read as their text, and the contract keeps its order (``categories``, ``ordered``)."""
    return pd.api.types.is_string_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype)


def _integral(s: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(s) and bool((s.dropna() == s.dropna().round()).all())


def coerce(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Cast what is losslessly castable: category columns (codes, booleans) to strings, integer
    class labels read as floats back to integers, a regression target to float. Anything else
    is left for the schema to judge, so bad data is reported, not silently converted."""
    df = df.copy()
    for col in contract.columns:
        if col.name in df and col.kind == "category" and not _is_str(df[col.name]):
            df[col.name] = as_text(df[col.name])
    t = contract.target
    if t in df:
        want = contract.target_dtype()
        if want == "str" and not _is_str(df[t]):
            df[t] = as_text(df[t])
        elif want == "int64" and _integral(df[t]) and df[t].notna().all():
            df[t] = df[t].astype("int64")
        elif want == "float64" and pd.api.types.is_numeric_dtype(df[t]):
            df[t] = df[t].astype("float64")
    return df


def write_table(df: pd.DataFrame, path, float_format: str | None = None) -> None:
    """Write CSV with a fixed line ending, so equal tables give equal md5s. Floats are written
    shortest-exact unless a ``float_format`` is given (the bundled sample uses ``%.2f``)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, float_format=float_format, lineterminator="\n")
