"""Typed access to params.yaml: every stage reads its section through here.

A missing key or a value of the wrong type is reported with the file, the key and the value,
before any work starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlops.core.errors import ConfigError

PARAMS_FILE = "params.yaml"

# section -> key -> (type, lower bound, upper bound); bounds are inclusive, None means open.
# A str key's "lower bound" is the tuple of allowed values; a dict is a nested section.
Spec = dict[str, "tuple[type, Any, Any] | Spec"]
ESTIMATORS = ("hist_gradient_boosting", "random_forest", "linear")
AUTO = "auto"
AUTO_OR_FLOAT = "auto or float"  # a kind: the word ``auto`` or a float within the bounds
SPEC: dict[str, Spec] = {
    "sample": {"rows": (int, 1, None), "seed": (int, 0, None)},
    "validate": {
        "min_rows": (int, 1, None),
        "max_null_share": (float, 0, 1),
        "max_duplicate_share": (float, 0, 1),
    },
    "split": {
        "holdout_size": (float, 0.01, 0.99),
        "validation_size": (float, 0, 0.9),
        "seed": (int, 0, None),
    },
    "train": {
        "seed": (int, 0, None),
        "estimator": (str, ESTIMATORS, None),
        "hist_gradient_boosting": {
            "learning_rate": (float, 1e-6, 1),
            "max_iter": (int, 1, 100_000),
            "max_leaf_nodes": (int, 2, 100_000),
            "min_samples_leaf": (int, 1, None),
            "l2_regularization": (float, 0, None),
        },
        "random_forest": {
            "n_estimators": (int, 1, 10_000),
            "max_depth": (int, 1, 1_000),
            "min_samples_leaf": (int, 1, None),
            "max_features": (float, 0.01, 1),
        },
        "linear": {"regularization": (float, 1e-9, None), "max_iter": (int, 1, 1_000_000)},
        "recency": {"half_life": (float, 0, None)},  # 0: off
    },
    "evaluate": {"threshold": (AUTO_OR_FLOAT, 0, 1), "latency_repeats": (int, 1, 100_000)},
    "refresh": {
        "window_days": (float, 0.001, None),
        "max_rows": (int, 1, None),
        "keep_rows": (int, 0, None),  # 0: keep every row
    },
}


def _check(path: Path, name: str, spec: tuple, value: Any) -> Any:
    kind, low, high = spec
    label = getattr(kind, "__name__", kind)
    if kind == AUTO_OR_FLOAT:
        if value == AUTO:
            return value
        kind = float
    ok_type = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok_type = float(value), True
    if not ok_type:
        raise ConfigError(
            path,
            name,
            f"must be {label}, got {type(value).__name__}",
            value=value,
            hint=f"set a {label} in {path}",
        )
    if kind is str:
        if value not in low:
            raise ConfigError(path, name, f"unknown value; one of {', '.join(low)}", value=value)
        return value
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ConfigError(path, name, f"out of range {bounds}", value=value)
    return value


def _section(path: Path, name: str, spec: Spec, given: Any) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise ConfigError(path, name, "missing section", hint=f"expected keys {list(spec)}")
    for key in spec:
        if key not in given:
            raise ConfigError(path, f"{name}.{key}", "missing key")
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ConfigError(
            path, f"{name}.{unknown[0]}", "unknown key", hint=f"known keys: {', '.join(spec)}"
        )
    return {
        key: _section(path, f"{name}.{key}", sub, given[key])
        if isinstance(sub, dict)
        else _check(path, f"{name}.{key}", sub, given[key])
        for key, sub in spec.items()
    }


def parse(raw: Any, path: Path) -> dict[str, dict[str, Any]]:
    """Check a parsed params mapping against ``SPEC``; return it with floats normalised."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "", "must be a mapping of stage sections")
    return {name: _section(path, name, spec, raw.get(name)) for name, spec in SPEC.items()}


def load(path: str | Path = PARAMS_FILE) -> dict[str, dict[str, Any]]:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(path, "", "file not found", hint="run from the repository root") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, "", f"not valid YAML: {exc}") from exc
    return parse(raw, path)


def section(name: str, path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    return load(path)[name]
