"""Records -> the feature matrix a fitted ``ColumnTransformer`` would make, on NumPy arrays.

On the request path a pandas frame costs far more than the model (FACTS.md: 3.8 ms of a 5.5 ms
single-row predict). Everything the transformers learned is in their fitted attributes (medians,
categories, means), so the same arithmetic runs on arrays built straight from the records.
Generic over the pipeline, not over one table: each block of the ``ColumnTransformer`` (its
columns and its chain of steps) becomes a small function. A step this module does not know, or a
setting it does not reproduce, raises ``Unsupported`` naming it; the caller then serves the
pipeline itself. Whatever is compiled is still checked against the pipeline (the parity gate in
``mlops.inference``) before it serves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

Rows = Sequence[dict[str, Any]]
Step = Callable[[Any], Any]  # a column block (numbers: float array; categories: lists) -> block


class Unsupported(Exception):
    """The fitted object cannot be run on arrays here; the message says what and why."""


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


# ---- numeric steps: (n, k) float64 -> (n, k) float64 ----------------------------------------
def _numeric_imputer(imp: SimpleImputer) -> Step:
    if imp.add_indicator:
        raise Unsupported("SimpleImputer(add_indicator=True)")
    if not _is_missing(imp.missing_values):
        raise Unsupported(f"SimpleImputer(missing_values={imp.missing_values!r})")
    fill = np.asarray(imp.statistics_, dtype=np.float64)
    if np.isnan(fill).any():  # sklearn drops the all-missing columns it saw at fit
        raise Unsupported("SimpleImputer with a column that was empty at fit")

    def impute(x: np.ndarray) -> np.ndarray:
        missing = np.isnan(x)
        return np.where(missing, fill, x) if missing.any() else x

    return impute


def _scaler(scaler: StandardScaler) -> Step:
    mean = scaler.mean_ if scaler.with_mean else None
    scale = scaler.scale_ if scaler.with_std else None

    def standardise(x: np.ndarray) -> np.ndarray:
        if mean is not None:
            x = x - mean
        if scale is not None:
            x = x / scale
        return x

    return standardise


# ---- categorical steps: list of columns (lists of values) -> the same, or a float block ------
def _category_imputer(imp: SimpleImputer) -> Step:
    if imp.add_indicator:
        raise Unsupported("SimpleImputer(add_indicator=True)")
    fills = list(imp.statistics_)

    def impute(columns: list[list[Any]]) -> list[list[Any]]:
        return [
            [fill if _is_missing(v) else v for v in col]
            for col, fill in zip(columns, fills, strict=True)
        ]

    return impute


def _lookup(categories: np.ndarray) -> tuple[dict[Any, int], int | None]:
    """Category -> index, and the index missing values take (when a missing value was seen)."""
    table, missing = {}, None
    for index, category in enumerate(categories):
        if _is_missing(category):
            missing = index
        else:
            table[category] = index
    return table, missing


def _one_hot(enc: OneHotEncoder) -> Step:
    if getattr(enc, "_infrequent_enabled", False):
        raise Unsupported("OneHotEncoder with infrequent categories")
    if enc.handle_unknown not in ("ignore", "error", "infrequent_if_exist", "warn"):
        raise Unsupported(f"OneHotEncoder(handle_unknown={enc.handle_unknown!r})")
    ignore = enc.handle_unknown != "error"
    drops = enc.drop_idx_ if enc.drop_idx_ is not None else [None] * len(enc.categories_)
    plans, width = [], 0
    for categories, drop in zip(enc.categories_, drops, strict=True):
        table, missing = _lookup(categories)
        # output position of each category index; the dropped one has none
        positions, kept = {}, 0
        for index in range(len(categories)):
            if drop is not None and index == drop:
                continue
            positions[index] = width + kept
            kept += 1
        plans.append((table, missing, positions))
        width += kept

    def encode(columns: list[list[Any]]) -> np.ndarray:
        n = len(columns[0])
        out = np.zeros((n, width), dtype=np.float64)
        for (table, missing, positions), col in zip(plans, columns, strict=True):
            for row, value in enumerate(col):
                index = missing if _is_missing(value) else table.get(value)
                if index is None:
                    if not ignore:
                        raise ValueError(f"unknown category {value!r}")
                    continue
                position = positions.get(index)
                if position is not None:
                    out[row, position] = 1.0
        return out

    return encode


def _ordinal(enc: OrdinalEncoder) -> Step:
    if getattr(enc, "_infrequent_enabled", False):
        raise Unsupported("OrdinalEncoder with infrequent categories")
    if np.dtype(enc.dtype) != np.float64:
        raise Unsupported(f"OrdinalEncoder(dtype={enc.dtype!r})")
    unknown = float(enc.unknown_value) if enc.handle_unknown == "use_encoded_value" else None
    encoded_missing = float(enc.encoded_missing_value)
    tables = []
    for categories in enc.categories_:
        table, missing = _lookup(categories)
        tables.append(({k: float(v) for k, v in table.items()}, missing is not None))

    def code(value: Any, table: dict[Any, float], seen_missing: bool) -> float:
        if _is_missing(value) and seen_missing:
            return encoded_missing
        found = table.get(value)
        if found is not None:
            return found
        if unknown is None:
            raise ValueError(f"unknown category {value!r}")
        return unknown

    def encode(columns: list[list[Any]]) -> np.ndarray:
        cols = [
            [code(v, table, seen) for v in col]
            for col, (table, seen) in zip(columns, tables, strict=True)
        ]
        return np.array(cols, dtype=np.float64).T.copy()

    return encode


# ---- blocks -----------------------------------------------------------------------------------
def _steps(transformer: Any) -> list[Any]:
    if transformer == "passthrough":
        return []
    if isinstance(transformer, Pipeline):
        return [s for _, s in transformer.steps if s is not None and s != "passthrough"]
    return [transformer]


def _numeric_step(step: Any) -> Step:
    if type(step) is SimpleImputer:
        return _numeric_imputer(step)
    if type(step) is StandardScaler:
        return _scaler(step)
    raise Unsupported(f"{type(step).__name__} on numeric columns")


def _block(names: list[str], transformer: Any) -> Callable[[Rows], np.ndarray]:
    """One block of the ColumnTransformer as rows -> (n, width) float64."""
    steps = _steps(transformer)
    categorical = any(type(s) in (OneHotEncoder, OrdinalEncoder) for s in steps)
    if not categorical:
        numeric = [_numeric_step(s) for s in steps]

        def run_numeric(rows: Rows) -> np.ndarray:
            # None becomes NaN here, which is what pandas hands sklearn for a missing number
            x = np.array([[row[c] for c in names] for row in rows], dtype=np.float64)
            for step in numeric:
                x = step(x)
            return x

        return run_numeric
    head, tail = _split_categorical(steps)

    def run_categorical(rows: Rows) -> np.ndarray:
        columns: Any = [[row[c] for row in rows] for c in names]
        for step in head:
            columns = step(columns)
        for step in tail:
            columns = step(columns)
        return columns

    return run_categorical


def _split_categorical(steps: list[Any]) -> tuple[list[Step], list[Step]]:
    """Steps before the encoder work on values, the encoder makes numbers, the rest on numbers."""
    head: list[Step] = []
    for i, step in enumerate(steps):
        if type(step) is SimpleImputer:
            head.append(_category_imputer(step))
        elif type(step) is OneHotEncoder:
            return [*head, _one_hot(step)], [_numeric_step(s) for s in steps[i + 1 :]]
        elif type(step) is OrdinalEncoder:
            return [*head, _ordinal(step)], [_numeric_step(s) for s in steps[i + 1 :]]
        else:
            raise Unsupported(f"{type(step).__name__} on categorical columns")
    raise Unsupported("categorical block without an encoder")


def _column_names(ct: ColumnTransformer, columns: Any) -> list[str]:
    names = list(getattr(ct, "feature_names_in_", []))
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, slice) or callable(columns):
        raise Unsupported("ColumnTransformer columns given as a slice or a callable")
    out = []
    for c in columns:
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, (int, np.integer)) and names:
            out.append(str(names[c]))
        else:
            raise Unsupported(f"ColumnTransformer column {c!r} is not a column name")
    return out


class ArrayFeatures:
    """A fitted ``ColumnTransformer`` as records -> float64 matrix, without pandas."""

    def __init__(self, ct: ColumnTransformer):
        if type(ct) is not ColumnTransformer:
            raise Unsupported(f"preprocessing is {type(ct).__name__}, not a ColumnTransformer")
        if not hasattr(ct, "transformers_"):
            raise Unsupported("the ColumnTransformer is not fitted")
        self.blocks = []
        for _, transformer, columns in ct.transformers_:
            if transformer == "drop":
                continue
            names = _column_names(ct, columns)
            if names:
                self.blocks.append(_block(names, transformer))

    def transform(self, rows: Rows) -> np.ndarray:
        if len(self.blocks) == 1:
            return np.ascontiguousarray(self.blocks[0](rows))
        return np.hstack([block(rows) for block in self.blocks])
