"""Small contracts of every task, made here (whatever table the workspace adopted)."""

from __future__ import annotations

from mlops.formats.contract import Contract

_COLUMNS = {
    "x": {"kind": "float", "min": -100, "max": 100},
    "colour": {"kind": "category", "categories": ["red", "green", "blue"]},
}


def contract(task: str) -> Contract:
    target = {
        "binary": {"name": "y", "classes": [0, 1], "positive": 1},
        "multiclass": {"name": "y", "classes": ["a", "b", "c"]},
        "regression": {"name": "y"},
    }[task]
    return Contract.from_dict(
        {"model": "m", "task": task, "data": "data/t.csv", "target": target, "columns": _COLUMNS}
    )
