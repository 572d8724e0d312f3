"""environments/<env>.yaml: the one typed loader of how an environment is served and guarded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops import paths
from mlops.errors import ConfigError

TARGETS = ("local",)


@dataclass(frozen=True)
class Serving:
    target: str = "local"
    url: str = "http://127.0.0.1:8100"
    keep_warm: int = 2


@dataclass(frozen=True)
class Gates:
    min: dict[str, float] = field(default_factory=dict)
    max_regression: dict[str, float] = field(default_factory=dict)
    max_slice_gap: dict[str, float] = field(default_factory=dict)
    max_latency_ms_p95: float | None = None
    max_model_mb: float | None = None


@dataclass(frozen=True)
class CanaryPolicy:
    max_traffic: int = 50
    abort_on: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Monitoring:
    drift_share: float = 0.3
    # live performance (`mlops performance`): the task's metrics measured on outcomes must stay
    # at least this (at most for rmse, mae, log_loss), judged once min_outcomes are labelled
    min_live: dict[str, float] = field(default_factory=dict)
    min_outcomes: int = 200
    # the prediction log's rotated files older than this are deleted (None: kept forever)
    log_retention_days: float | None = 30


@dataclass(frozen=True)
class Environment:
    name: str
    serving: Serving
    gates: Gates
    canary: CanaryPolicy
    drift_share: float = 0.3
    usd_per_cpu_hour: float = 0.05
    requires: str | None = None
    source: str = ""
    monitoring: Monitoring = field(default_factory=Monitoring)


def _mapping(raw: Any, source: str, key: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(source, key, "must be a mapping", value=raw)
    return raw


def _number_map(raw: Any, source: str, key: str) -> dict[str, float]:
    out = {}
    for name, value in _mapping(raw, source, key).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(source, f"{key}.{name}", "must be a number", value=value)
        out[name] = float(value)
    return out


def _number(raw: Any, source: str, key: str, low: float = 0) -> float | None:
    if raw is None:
        return None
    if not isinstance(raw, (int, float)) or isinstance(raw, bool) or raw < low:
        raise ConfigError(source, key, f"must be a number >= {low}", value=raw)
    return float(raw)


def _monitoring(raw: dict, source: str) -> Monitoring:
    min_outcomes = raw.get("min_outcomes", Monitoring.min_outcomes)
    if not isinstance(min_outcomes, int) or isinstance(min_outcomes, bool) or min_outcomes < 1:
        raise ConfigError(
            source, "monitoring.min_outcomes", "must be a whole number >= 1", value=min_outcomes
        )
    retention = raw.get("log_retention_days", Monitoring.log_retention_days)
    return Monitoring(
        drift_share=_number(raw.get("drift_share", 0.3), source, "monitoring.drift_share"),
        min_live=_number_map(raw.get("min_live"), source, "monitoring.min_live"),
        min_outcomes=min_outcomes,
        log_retention_days=_number(retention, source, "monitoring.log_retention_days", low=0.001),
    )


def parse(raw: Any, name: str, source: str) -> Environment:
    raw = _mapping(raw, source, "")
    serving = _mapping(raw.get("serving"), source, "serving")
    target = serving.get("target", "local")
    if target not in TARGETS:
        raise ConfigError(
            source, "serving.target", f"unknown target; known: {', '.join(TARGETS)}", value=target
        )
    gates = _mapping(raw.get("gates"), source, "gates")
    canary = _mapping(raw.get("canary"), source, "canary")
    monitoring = _monitoring(_mapping(raw.get("monitoring"), source, "monitoring"), source)
    max_traffic = canary.get("max_traffic", 50)
    if not isinstance(max_traffic, int) or not 1 <= max_traffic <= 99:
        raise ConfigError(
            source, "canary.max_traffic", "must be a whole percent from 1 to 99", value=max_traffic
        )
    return Environment(
        name=name,
        serving=Serving(
            target,
            str(serving.get("url", Serving.url)),
            int(_number(serving.get("keep_warm", 2), source, "serving.keep_warm")),
        ),
        gates=Gates(
            min=_number_map(gates.get("min"), source, "gates.min"),
            max_regression=_number_map(gates.get("max_regression"), source, "gates.max_regression"),
            max_slice_gap=_number_map(gates.get("max_slice_gap"), source, "gates.max_slice_gap"),
            max_latency_ms_p95=_number(
                gates.get("max_latency_ms_p95"), source, "gates.max_latency_ms_p95"
            ),
            max_model_mb=_number(gates.get("max_model_mb"), source, "gates.max_model_mb"),
        ),
        canary=CanaryPolicy(
            max_traffic, _number_map(canary.get("abort_on"), source, "canary.abort_on")
        ),
        drift_share=monitoring.drift_share,
        usd_per_cpu_hour=_number(
            _mapping(raw.get("cost"), source, "cost").get("usd_per_cpu_hour", 0.05),
            source,
            "cost.usd_per_cpu_hour",
        ),
        requires=raw.get("requires"),
        source=source,
        monitoring=monitoring,
    )


def names(root: str | Path = ".") -> list[str]:
    return sorted(p.stem for p in (Path(root) / paths.ENVIRONMENTS).glob("*.yaml"))


def load(name: str, root: str | Path = ".") -> Environment:
    path = Path(root) / paths.ENVIRONMENTS / f"{name}.yaml"
    source = f"{paths.ENVIRONMENTS}/{name}.yaml"
    if not path.is_file():
        known = ", ".join(names(root)) or "none"
        raise ConfigError(
            source, "", f"unknown environment {name!r}", hint=f"known environments: {known}"
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(source, "", f"not valid YAML: {exc}".replace("\n", " ")) from exc
    env = parse(raw, name, source)
    if env.requires and env.requires not in names(root):
        raise ConfigError(
            source,
            "requires",
            "names an environment that does not exist",
            value=env.requires,
            hint=f"known: {', '.join(names(root))}",
        )
    return env


def load_all(root: str | Path = ".") -> dict[str, Environment]:
    return {name: load(name, root) for name in names(root)}
