"""The one loader of ``contract.yaml``: the data contract every stage and command reads.

``contract.yaml`` (top level, in Git) says what the table is: the model's name, the task, where
the data lives, the target, an optional segment, and every column's kind, range, categories and
nullability. `mlops data adopt` writes it from a table; people review and tighten it by hand.
Validation (pandera), split (row identity), train (feature lists), evaluate (slices), serving
(request checks), drift (column kinds), the card and the PR report all read it through here.

API::

    c = load_contract(root)            # or load_contract() in the repository root
    c.model       # "churn-model": tags are <model>@vX.Y.Z, models.yaml's key
    c.task        # "binary" | "multiclass" | "regression"
    c.data        # "data/churn.csv" (relative to the root; CSV or Parquet)
    c.target      # "churn": the target column's name
    c.classes     # classification: every label, sorted as the model's classes_; () for regression
    c.positive    # binary: the positive label (its probability is the score); else None
    c.segment     # "region" or None: slices
    c.id_column   # "customer_id" or None: the row's identity (split keeps each row on one side)
    c.columns     # tuple[Column]: every column but the target, in file order
    c.features    # names of the columns the model reads (``feature: true``)
    c.numeric     # numeric features;  c.categorical: categorical features, of which
    c.nominal     # the unordered (one-hot encoded) and
    c.ordinal     # the ordered ones (``ordered: true``: trained as their position)
    c.personal    # columns marked ``personal: true`` (hashed in the prediction log)
    c.by_name     # name -> Column
    c.dtypes(with_target=True)        # name -> pandas dtype of training and serving frames
    c.read_table(path)                # a table read and coerced to those dtypes
    c.frame_schema(min_rows=..., max_null_share=..., max_duplicate_share=..., with_target=...)
    c.to_dict() / Contract.from_dict(d, source)   # the plain form a model artifact carries

A model artifact carries the contract it was trained with (``contract_of(model)``), so a served
version is validated against its own contract, not the workspace's current one.

A malformed contract raises ``ConfigError`` naming the file, the key and the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlops.core.errors import ConfigError
from mlops.formats.contract_parse import (
    COLUMN_KEYS,
    NUMBER,
    TOP_KEYS,
    fail,
    get,
    target_of,
    unknown,
)

CONTRACT_FILE = "contract.yaml"  # at the repository root; paths.CONTRACT
TASKS = ("binary", "multiclass", "regression")
KINDS = ("int", "float", "category")
_DTYPES = {"int": "int64", "float": "float64", "category": "str"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# The attribute of a trained Pipeline that holds the contract it was trained with.
MODEL_ATTRIBUTE = "mlops_contract_"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int | float | category
    low: float | None = None  # numeric: inclusive range
    high: float | None = None
    categories: tuple[str, ...] = ()  # category: allowed values (empty = any, not a feature)
    nullable: bool = False
    max_null_share: float | None = None  # None: params.yaml validate.max_null_share
    feature: bool = True
    description: str = ""
    personal: bool = False  # hashed in the prediction log (mlops.formats.predlog.redact)
    ordered: bool = False  # category: ``categories`` is an order; trained as its position

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float")


@dataclass(frozen=True)
class Contract:
    model: str
    task: str
    data: str
    target: str
    columns: tuple[Column, ...]
    classes: tuple = ()
    positive: Any = None
    segment: str | None = None
    description: str = ""
    id_column: str | None = None  # contract.yaml ``id``: a column naming each row for good
    source: str = field(default=CONTRACT_FILE, compare=False)

    @property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.feature)

    @property
    def numeric(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.feature and c.numeric)

    @property
    def personal(self) -> tuple[str, ...]:
        """Columns marked ``personal: true``: the prediction log keeps only their hash."""
        return tuple(c.name for c in self.columns if c.personal)

    @property
    def categorical(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.feature and not c.numeric)

    @property
    def nominal(self) -> tuple[str, ...]:
        """Unordered category features (one-hot encoded)."""
        return tuple(c.name for c in self.columns if c.feature and not c.numeric and not c.ordered)

    @property
    def ordinal(self) -> tuple[str, ...]:
        """Ordered category features (encoded as the position in ``categories``)."""
        return tuple(c.name for c in self.columns if c.feature and c.ordered)

    @property
    def classification(self) -> bool:
        return self.task != "regression"

    def target_dtype(self) -> str:
        if not self.classification:
            return "float64"
        return "int64" if all(isinstance(c, int) for c in self.classes) else "str"

    def dtypes(self, with_target: bool = True, features_only: bool = False) -> dict[str, str]:
        """Column name -> the pandas dtype training and serving frames use."""
        cols = [c for c in self.columns if c.feature or not features_only]
        out = {c.name: _DTYPES[c.kind] for c in cols}
        if with_target:
            out[self.target] = self.target_dtype()
        return out

    def read_table(self, path: str | Path) -> pd.DataFrame:
        """Read a CSV or Parquet table and coerce it to the contract's dtypes where lossless."""
        from mlops.formats.schema import coerce, read_raw

        return coerce(read_raw(path), self)

    def frame_schema(self, **kwargs):
        """The pandera schema of a training table or (``with_target=False``) a serving batch."""
        from mlops.formats.schema import frame_schema

        return frame_schema(self, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The YAML form (what contract.yaml holds)."""
        target: dict[str, Any] = {"name": self.target}
        if self.classification:
            target["classes"] = list(self.classes)
        if self.task == "binary":
            target["positive"] = self.positive
        out: dict[str, Any] = {"model": self.model, "task": self.task, "data": self.data}
        if self.description:
            out["description"] = self.description
        out |= {"target": target, "segment": self.segment}
        if self.id_column:
            out["id"] = self.id_column
        out["columns"] = {}
        for c in self.columns:
            out["columns"][c.name] = _column_dict(c)
        return out

    def for_model(self) -> dict[str, Any]:
        """What a trained artifact carries: the contract without its prose, so editing the
        description does not retrain."""
        out = self.to_dict()
        out.pop("description", None)
        return out

    @classmethod
    def from_dict(cls, raw: Any, source: str = CONTRACT_FILE) -> Contract:
        return _parse(raw, source)


def _column_dict(c: Column) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": c.kind}
    if c.numeric:
        out |= {k: v for k, v in (("min", c.low), ("max", c.high)) if v is not None}
    elif c.categories:
        out["categories"] = list(c.categories)
        if c.ordered:
            out["ordered"] = True
    if c.nullable:
        out["nullable"] = True
        if c.max_null_share is not None:
            out["max_null_share"] = c.max_null_share
    if not c.feature:
        out["feature"] = False
    if c.description:
        out["description"] = c.description
    if c.personal:
        out["personal"] = True
    return out


# ---------------------------------------------------------------------------- parsing


def _column(name: str, raw: Any, source: str) -> Column:
    where = f"columns.{name}."
    if not isinstance(raw, dict):
        raise fail(source, f"columns.{name}", "must be a mapping with at least `kind`", raw)
    unknown(raw, COLUMN_KEYS, source, where)
    kind = get(raw, "kind", (str,), source, where)
    if kind not in KINDS:
        raise fail(source, f"{where}kind", f"unknown kind; one of {', '.join(KINDS)}", kind)
    low = get(raw, "min", NUMBER, source, where, None)
    high = get(raw, "max", NUMBER, source, where, None)
    cats = get(raw, "categories", (list,), source, where, [])
    if kind != "category" and cats:
        raise fail(source, f"{where}categories", "only a category column has categories", cats)
    if kind == "category" and (low is not None or high is not None):
        raise fail(source, f"{where}min", "a category column has no range; use categories")
    if low is not None and high is not None and low > high:
        raise fail(source, f"{where}min", f"greater than max ({high})", low)
    if any(not isinstance(c, (str, int)) or isinstance(c, bool) for c in cats):
        raise fail(source, f"{where}categories", "must be a list of strings", cats)
    if len({str(c) for c in cats}) != len(cats):
        raise fail(source, f"{where}categories", "lists a category twice", cats)
    ordered = get(raw, "ordered", (bool,), source, where, False)
    if ordered and len(cats) < 2:
        raise fail(source, f"{where}ordered", "an ordered column lists its categories in order")
    share = get(raw, "max_null_share", NUMBER, source, where, None)
    if share is not None and not 0 <= share <= 1:
        raise fail(source, f"{where}max_null_share", "must be between 0 and 1", share)
    return Column(
        name=name,
        kind=kind,
        low=low,
        high=high,
        categories=tuple(str(c) for c in cats),
        nullable=get(raw, "nullable", (bool,), source, where, False),
        max_null_share=share,
        feature=get(raw, "feature", (bool,), source, where, True),
        description=str(get(raw, "description", (str,), source, where, "")),
        personal=get(raw, "personal", (bool,), source, where, False),
        ordered=ordered,
    )


def _parse(raw: Any, source: str) -> Contract:
    if not isinstance(raw, dict):
        raise fail(source, "", "must be a mapping (model, task, data, target, columns)")
    unknown(raw, TOP_KEYS, source, "")
    model = get(raw, "model", (str,), source)
    if not _NAME.match(model):
        raise fail(source, "model", "lower-case letters, digits, '.', '_' or '-' only", model)
    task = get(raw, "task", (str,), source)
    if task not in TASKS:
        raise fail(source, "task", f"unknown task; one of {', '.join(TASKS)}", task)
    data = get(raw, "data", (str,), source)
    if not data.startswith("data/") or Path(data).suffix not in (".csv", ".parquet"):
        raise fail(source, "data", "must be a .csv or .parquet file under data/", data)
    target, classes, positive = target_of(raw.get("target"), task, source)
    cols = get(raw, "columns", (dict,), source)
    if not cols:
        raise fail(source, "columns", "lists no columns", cols)
    columns = tuple(_column(str(n), spec, source) for n, spec in cols.items())
    if target in cols:
        raise fail(source, f"columns.{target}", "is the target; describe it under `target`")
    segment = get(raw, "segment", (str,), source, "", None)
    if segment is not None:
        seg = {c.name: c for c in columns}.get(segment)
        if seg is None or seg.kind != "category" or not seg.categories:
            raise fail(source, "segment", "must name a category column with categories", segment)
    if not any(c.feature for c in columns):
        raise fail(source, "columns", "no column is a feature (all have feature: false)")
    ident = get(raw, "id", (str,), source, "", None)
    if ident is not None and ident not in {c.name for c in columns}:
        raise fail(source, "id", "must name a column under `columns`", ident)
    return Contract(
        model=model,
        task=task,
        data=data,
        target=target,
        columns=columns,
        classes=classes,
        positive=positive,
        segment=segment,
        description=str(get(raw, "description", (str,), source, "", "")),
        id_column=ident,
        source=source,
    )


def load_contract(root: str | Path = ".") -> Contract:
    """Read and check ``<root>/contract.yaml``."""
    path = Path(root) / CONTRACT_FILE
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(
            path, "", "file not found", hint="run from the repository root, or `mlops data adopt`"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, "", f"not valid YAML: {exc}") from exc
    return _parse(raw, str(path))


def dump(contract: Contract, header: str = "") -> str:
    """contract.yaml's text: a header comment, then one line per column (diff-friendly)."""
    data = contract.to_dict()
    columns = data.pop("columns")
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    text += "columns:\n"
    for name, spec in columns.items():
        key = yaml.safe_dump({name: 0}, allow_unicode=True).rsplit(":", 1)[0]
        flow = yaml.safe_dump(
            _tidy(spec), default_flow_style=True, sort_keys=False, allow_unicode=True, width=10**6
        )
        text += f"  {key}: {flow.strip()}\n"
    return text


def _tidy(spec: dict[str, Any]) -> dict[str, Any]:
    """Whole-number bounds as integers: ``max: 120`` reads better than ``max: 120.0``."""
    return {
        k: int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 1e15 else v
        for k, v in spec.items()
    }


def contract_of(model) -> Contract | None:
    """The contract a trained model artifact carries (None for artifacts made before it did)."""
    raw = getattr(model, MODEL_ATTRIBUTE, None)
    return None if raw is None else Contract.from_dict(raw, source="the model artifact")
