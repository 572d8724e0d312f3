"""The checks contract.yaml's parser shares: typed keys, unknown keys refused, the target
section; each failure a ``ConfigError`` naming the file, the key and the value."""

from __future__ import annotations

from typing import Any

from mlops.core.errors import ConfigError


def fail(source: str, key: str, problem: str, value: Any = ..., hint: str = "") -> ConfigError:
    return ConfigError(source, key, problem, hint=hint, value=value)


def get(raw: dict, key: str, kinds: tuple[type, ...], source: str, where: str = "", default=...):
    name = f"{where}{key}"
    if key not in raw:
        if default is ...:
            raise fail(source, name, "missing key")
        return default
    value = raw[key]
    if value is None and default is not ... and default is None:
        return None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        expected = " or ".join(k.__name__ for k in kinds)
        raise fail(source, name, f"must be {expected}", value)
    return value


NUMBER = (int, float)
TOP_KEYS = ("model", "task", "data", "description", "target", "segment", "id", "columns")
COLUMN_KEYS = (
    "kind",
    "min",
    "max",
    "categories",
    "nullable",
    "max_null_share",
    "feature",
    "description",
    "personal",
    "ordered",
)


def unknown(raw: dict, known: tuple[str, ...], source: str, where: str) -> None:
    extra = [k for k in raw if k not in known]
    if extra:
        raise fail(source, f"{where}{extra[0]}", "unknown key", hint=f"known: {', '.join(known)}")


def target_of(raw: Any, task: str, source: str) -> tuple[str, tuple, Any]:
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        raise fail(source, "target", "must be a mapping {name, classes, positive}", raw)
    unknown(raw, ("name", "classes", "positive"), source, "target.")
    name = get(raw, "name", (str,), source, "target.")
    if task == "regression":
        if "classes" in raw or "positive" in raw:
            raise fail(source, "target.classes", "a regression target has no classes")
        return name, (), None
    classes = get(raw, "classes", (list,), source, "target.")
    if any(not isinstance(c, (str, int)) or isinstance(c, bool) for c in classes):
        raise fail(source, "target.classes", "must be a list of integers or strings", classes)
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise fail(source, "target.classes", "must list two or more distinct labels", classes)
    if task == "binary" and len(classes) != 2:
        raise fail(source, "target.classes", "a binary task has exactly two classes", classes)
    if len({type(c) for c in classes}) > 1:
        raise fail(source, "target.classes", "mixes integers and strings", classes)
    positive = raw.get("positive") if task == "binary" else None
    if task == "binary" and positive not in classes:
        raise fail(source, "target.positive", f"must be one of {classes}", positive)
    if task != "binary" and "positive" in raw:
        raise fail(source, "target.positive", "only a binary task has a positive label")
    return name, tuple(sorted(classes)), positive
