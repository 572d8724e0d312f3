"""Request validation built from the one data definition, the contract (``mlops.formats.contract``).

The validate stage checks whole tables with pandera; on the request path that costs far more than
the predict call, so here the same ``Column`` definitions become plain per-value checks. Both
read the same kinds, ranges, categories and nullability, so they cannot disagree.

The server validates each request with the contract the answering version was trained with
(``mlops.formats.contract.contract_of``), not the workspace's current one: a version keeps serving
the table it knows while a newer contract is reviewed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mlops.formats.contract import Column, Contract

MAX_RECORDS = 10_000
MAX_ERRORS = 100  # listed in one answer; the rest are counted


class RequestError(Exception):
    """The request body is not a valid prediction request; ``errors`` names every field."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


def _error(loc: list, msg: str, kind: str, value: Any = ...) -> dict[str, Any]:
    out: dict[str, Any] = {"loc": loc, "msg": msg, "type": kind}
    if value is not ...:
        out["input"] = value
    return out


def _too_many(hidden: int) -> dict[str, Any]:
    return {
        "loc": ["records"],
        "msg": f"{hidden:,} more error(s) not shown: fix the first {MAX_ERRORS} and send again",
        "type": "too_many_errors",
        "count": hidden,
    }


def _number_check(col: Column) -> Callable[[Any], str | None]:
    integer = col.kind == "int"
    low, high = col.low, col.high

    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be {'an integer' if integer else 'a number'}"
        if integer and not isinstance(value, int) and not float(value).is_integer():
            return "must be an integer"
        if not math.isfinite(value):
            return "must be a finite number"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be between {_bound(low)} and {_bound(high)}"
        return None

    return check


def _bound(value: float | None) -> str:
    return "any" if value is None else f"{value:g}"


def category_text(value: Any) -> Any:
    """A category given as a JSON number or boolean, spelled as the table's text: ``1`` and
    ``1.0`` -> ``"1"``, ``true`` -> ``"True"`` (as ``mlops.formats.schema.as_text`` reads a column
    of codes); anything else unchanged."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return value


def _category_check(col: Column) -> Callable[[Any], str | None]:
    allowed = frozenset(col.categories)
    shown = ", ".join(col.categories)

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            value = category_text(value)
            if not isinstance(value, str):
                return "must be a string"
        if value not in allowed:
            return f"unknown category; expected one of: {shown}"
        return None

    return check


def _check(col: Column) -> Callable[[Any], str | None]:
    return _number_check(col) if col.numeric else _category_check(col)


class Validator:
    """Request checks and the model's frame for one contract: the one a served version was
    trained with, so a request is judged by the version that answers it."""

    def __init__(self, contract: Contract):
        self.contract = contract
        self.features = contract.features
        self.checks = tuple((c, _check(c)) for c in contract.columns if c.feature)
        self._feature_set = frozenset(self.features)
        # a record may also carry the table's other columns (feature: false, e.g. an id) and its
        # target, as a row exported from the table does: accepted, never scored; the target is
        # dropped before anything sees it (the log, a shadow), since outcomes arrive on their own
        self._known = frozenset(c.name for c in contract.columns)
        self._target = contract.target
        self._dtypes = contract.dtypes(with_target=False, features_only=True)

    def records(self, body: Any) -> list[dict[str, Any]]:
        """The records of a parsed request body, or ``RequestError`` listing every bad field."""
        rows = _rows(body)
        errors, hidden = [], 0
        for index, record in enumerate(rows):
            # the fast path: the right keys and no problem in any value
            if type(record) is dict and self._keys_ok(record) and self._clean(record):
                continue
            if type(record) is dict and self._target in record:
                record = rows[index] = {k: v for k, v in record.items() if k != self._target}
                if self._keys_ok(record) and self._clean(record):
                    continue
            for error in self._record_errors(index, record):
                if len(errors) < MAX_ERRORS:
                    errors.append(error)
                else:  # counted, never built up: the answer stays small whatever was sent
                    hidden += 1
        if hidden:
            errors.append(_too_many(hidden))
        if errors:
            raise RequestError(errors)
        return rows

    def _keys_ok(self, record: dict[str, Any]) -> bool:
        keys = record.keys()
        return keys == self._feature_set or self._feature_set <= keys <= self._known

    def _clean(self, record: dict[str, Any]) -> bool:
        for col, check in self.checks:
            value = record[col.name]
            if value is None:
                if not col.nullable:
                    return False
            elif check(value) is not None:
                return False
        return True

    def _record_errors(self, index: int, record: Any) -> Iterator[dict[str, Any]]:
        if not isinstance(record, dict):
            yield _error(["records", index], "must be an object of feature values", "type")
            return
        for col, check in self.checks:
            loc = ["records", index, col.name]
            if col.name not in record:
                yield _error(loc, "field required", "missing")
                continue
            value = record[col.name]
            if value is None:
                if not col.nullable:
                    yield _error(loc, "may not be null", "null")
                continue
            problem = check(value)
            if problem:
                yield _error(loc, problem, "value", value)
        for name in record.keys() - self._known:
            yield _error(["records", index, name], "unknown field", "extra")

    def frame(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """Validated records -> the frame the model was trained on (same columns, same dtypes).

        Built column by column from arrays: about twice as fast as letting pandas infer.
        """
        return pd.DataFrame(
            {name: _column(self._dtypes[name], name, rows) for name in self.features}, copy=False
        )


def _rows(body: Any) -> list[Any]:
    if not isinstance(body, dict) or "records" not in body:
        raise RequestError([_error(["records"], 'body must be {"records": [...]}', "missing")])
    rows = body["records"]
    if not isinstance(rows, list) or not rows:
        raise RequestError([_error(["records"], "must be a non-empty list of objects", "type")])
    if len(rows) > MAX_RECORDS:
        raise RequestError([_error(["records"], f"at most {MAX_RECORDS} records", "too_long")])
    return rows


def _column(dtype: str, name: str, rows: list[dict[str, Any]]):
    values = [row[name] for row in rows]
    if dtype == "str":
        values = [v if v is None or type(v) is str else category_text(v) for v in values]
    if dtype == "float64":
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    if dtype == "int64":
        return np.array(values, dtype=np.int64)
    return pd.array(values, dtype=dtype)


@cache
def for_contract(contract: Contract) -> Validator:
    return Validator(contract)


def _default() -> Validator:
    from mlops.data import sample

    return for_contract(sample.contract())


def records(body: Any, contract: Contract | None = None) -> list[dict[str, Any]]:
    """``Validator.records`` for ``contract`` (default: the bundled sample's)."""
    return (for_contract(contract) if contract else _default()).records(body)


def frame(rows: list[dict[str, Any]], contract: Contract | None = None) -> pd.DataFrame:
    """``Validator.frame`` for ``contract`` (default: the bundled sample's)."""
    return (for_contract(contract) if contract else _default()).frame(rows)
