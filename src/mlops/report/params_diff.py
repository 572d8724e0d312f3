"""Only the params.yaml keys a change touched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_ABSENT = object()


@dataclass(frozen=True)
class ParamChange:
    key: str  # "train.learning_rate"
    base: Any  # None with ``added`` when the key is new
    new: Any
    added: bool = False
    removed: bool = False


def flatten(tree: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (tree or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _same(a: Any, b: Any) -> bool:
    # 1 and 1.0 are the same setting (params.load normalises ints given for floats).
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


def diff(base: dict | None, new: dict | None) -> list[ParamChange]:
    old, cur = flatten(base), flatten(new)
    changes = []
    for key in sorted(set(old) | set(cur)):
        a, b = old.get(key, _ABSENT), cur.get(key, _ABSENT)
        if a is _ABSENT:
            changes.append(ParamChange(key, None, b, added=True))
        elif b is _ABSENT:
            changes.append(ParamChange(key, a, None, removed=True))
        elif not _same(a, b):
            changes.append(ParamChange(key, a, b))
    return changes
