"""environments/<env>.yaml: the one typed loader of how an environment is served and guarded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops.core import paths
from mlops.core.errors import ConfigError
from mlops.formats.environments_kserve import KServe, parse_kserve
from mlops.formats.environments_parse import (
    live_bars,
    mapping_at,
    number_at,
    numbers_at,
    tolerance,
    whole_at,
)

TARGETS = ("local", "kserve")


@dataclass(frozen=True)
class Serving:
    target: str = "local"
    url: str = "http://127.0.0.1:8100"
    keep_warm: int = 2
    kserve: KServe | None = None  # set when target is kserve


@dataclass(frozen=True)
class Gates:
    min: dict[str, float] = field(default_factory=dict)
    max_regression: dict[str, float] = field(default_factory=dict)
    max_slice_gap: dict[str, float] = field(default_factory=dict)
    # at least this much better than the trivial baseline on the same holdout (baselines.json)
    min_lift: dict[str, float] = field(default_factory=dict)
    max_latency_ms_p95: float | None = None
    max_model_mb: float | None = None
    # gate -> enforce | dry_run: a dry-run gate is computed and shown as "would block", never
    # blocks (how a team introduces a new gate without stopping work)
    mode: dict[str, str] = field(default_factory=dict)

    def dry_run(self, gate: str) -> bool:
        return self.mode.get(gate, self.mode.get("*", ENFORCE)) == DRY_RUN


# the canary's sequential tests (``mlops.monitoring.sequential``): the smallest difference worth
# detecting, canary minus stable, per comparison
MIN_EFFECT = {
    "error_rate": 0.01,  # 5xx share of requests, absolute (0.01: one point)
    "live_error": 0.05,  # wrong answers per labelled request (regression: in outcome SDs)
    "prediction_shift": 0.25,  # mean prediction, in the stable's standard deviations
}
ABORT_ON = ("p99_ms",)  # budgets a canary must keep whatever the stable does
ENFORCE, DRY_RUN = "enforce", "dry_run"
GATE_NAMES = ("min", "max_regression", "max_slice_gap", "max_latency_ms_p95", "max_model_mb")


@dataclass(frozen=True)
class CanaryPolicy:
    max_traffic: int = 50
    abort_on: dict[str, float] = field(default_factory=dict)
    alpha: float = 0.05  # false-rollback rate, however often the canary is looked at
    min_effect: dict[str, float] = field(default_factory=lambda: dict(MIN_EFFECT))
    min_requests: int = 100  # per route, before any verdict
    max_shadow_traffic: int = 100  # percent of requests a shadow may score (0: no shadows)


@dataclass(frozen=True)
class Monitoring:
    drift_share: float = 0.3
    # live performance (`mlops performance`): metric -> a number the metric measured on outcomes
    # must stay at least (at most for rmse, mae, log_loss), or `auto`: derived per served version
    # from its holdout figure and trivial baseline (`live_tolerance`); unset or `auto` alone: auto
    # for the task's headline metric and each gates.min metric measured live
    min_live: dict[str, float | str] = field(default_factory=dict)
    # an `auto` bar: the version's holdout figure minus this share of its lift over the trivial
    # baseline (0.25: keep three quarters of the lift), so never at or below that baseline
    live_tolerance: float = 0.25
    min_outcomes: int = 200
    # the prediction log's rotated files older than this are deleted (None: kept forever)
    log_retention_days: float | None = 30


@dataclass(frozen=True)
class Replay:
    """``replay``: the logged requests `mlops check` replays a candidate on."""

    window: str = "7d"  # 30m, 24h, 7d, 2w
    max_rows: int = 100_000  # sampled with a fixed seed above this


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
    replay: Replay = field(default_factory=Replay)


def _monitoring(raw: dict, source: str) -> Monitoring:
    min_outcomes = raw.get("min_outcomes", Monitoring.min_outcomes)
    if not isinstance(min_outcomes, int) or isinstance(min_outcomes, bool) or min_outcomes < 1:
        raise ConfigError(
            source, "monitoring.min_outcomes", "must be a whole number >= 1", value=min_outcomes
        )
    retention = raw.get("log_retention_days", Monitoring.log_retention_days)
    return Monitoring(
        drift_share=number_at(raw.get("drift_share", 0.3), source, "monitoring.drift_share"),
        min_live=live_bars(raw.get("min_live"), source),
        live_tolerance=tolerance(raw.get("live_tolerance", 0.25), source),
        min_outcomes=min_outcomes,
        log_retention_days=number_at(retention, source, "monitoring.log_retention_days", low=0.001),
    )


def _gate_mode(raw: Any, source: str) -> dict[str, str]:
    """``gates.mode``: one mode for every gate, or a mapping gate -> mode."""
    if raw is None:
        return {}
    given = {"*": raw} if isinstance(raw, str) else mapping_at(raw, source, "gates.mode")
    for gate, mode in given.items():
        key = "gates.mode" if gate == "*" else f"gates.mode.{gate}"
        if gate != "*" and gate not in GATE_NAMES:
            raise ConfigError(source, key, "unknown gate", hint=f"known: {', '.join(GATE_NAMES)}")
        if mode not in (ENFORCE, DRY_RUN):
            raise ConfigError(source, key, f"must be {ENFORCE} or {DRY_RUN}", value=mode)
    return dict(given)


def _replay(raw: dict, source: str) -> Replay:
    from mlops.core.durations import DurationError, parse_duration

    window = raw.get("window", Replay.window)
    try:
        parse_duration(str(window))
    except (DurationError, ValueError):
        raise ConfigError(
            source, "replay.window", "must be a duration like 24h, 7d or 2w", value=window
        ) from None
    max_rows = raw.get("max_rows", Replay.max_rows)
    if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
        raise ConfigError(source, "replay.max_rows", "must be a whole number >= 1", value=max_rows)
    return Replay(str(window), max_rows)


def _canary(raw: dict, source: str) -> CanaryPolicy:
    max_traffic = raw.get("max_traffic", 50)
    if not isinstance(max_traffic, int) or not 1 <= max_traffic <= 99:
        raise ConfigError(
            source, "canary.max_traffic", "must be a whole percent from 1 to 99", value=max_traffic
        )
    abort_on = numbers_at(raw.get("abort_on"), source, "canary.abort_on")
    for key in abort_on:
        if key not in ABORT_ON:
            raise ConfigError(
                source, f"canary.abort_on.{key}", "not a budget (known: p99_ms)",
                value=abort_on[key],
                hint="error rate and predictions are judged by the sequential test: set "
                "canary.alpha and canary.min_effect (error_rate, live_error, prediction_shift)",
            )  # fmt: skip
    alpha = raw.get("alpha", CanaryPolicy.alpha)
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha <= 0.5:
        raise ConfigError(
            source, "canary.alpha", "must be a false-rollback rate above 0 and at most 0.5",
            value=alpha, hint="0.05: one healthy canary in twenty may be rolled back",
        )  # fmt: skip
    min_effect = numbers_at(raw.get("min_effect"), source, "canary.min_effect")
    for key, value in min_effect.items():
        if key not in MIN_EFFECT:
            raise ConfigError(
                source, f"canary.min_effect.{key}", "unknown comparison",
                hint=f"known: {', '.join(MIN_EFFECT)}",
            )  # fmt: skip
        if value <= 0:
            raise ConfigError(
                source, f"canary.min_effect.{key}", "must be above 0", value=value,
                hint="the smallest difference worth detecting, canary minus stable",
            )  # fmt: skip
    return CanaryPolicy(
        max_traffic, abort_on, float(alpha), {**MIN_EFFECT, **min_effect},
        whole_at(raw, "min_requests", CanaryPolicy.min_requests, 1, 10**9, source),
        whole_at(raw, "max_shadow_traffic", CanaryPolicy.max_shadow_traffic, 0, 100, source),
    )  # fmt: skip


def parse(raw: Any, name: str, source: str) -> Environment:
    raw = mapping_at(raw, source, "")
    serving = mapping_at(raw.get("serving"), source, "serving")
    target = serving.get("target", "local")
    if target not in TARGETS:
        raise ConfigError(
            source, "serving.target", f"unknown target; known: {', '.join(TARGETS)}", value=target
        )
    gates = mapping_at(raw.get("gates"), source, "gates")
    canary = mapping_at(raw.get("canary"), source, "canary")
    monitoring = _monitoring(mapping_at(raw.get("monitoring"), source, "monitoring"), source)
    return Environment(
        name=name,
        serving=Serving(
            target,
            str(serving.get("url", Serving.url)),
            int(number_at(serving.get("keep_warm", 2), source, "serving.keep_warm")),
            parse_kserve(serving.get("kserve"), name, source) if target == "kserve" else None,
        ),
        gates=Gates(
            min=numbers_at(gates.get("min"), source, "gates.min"),
            max_regression=numbers_at(gates.get("max_regression"), source, "gates.max_regression"),
            max_slice_gap=numbers_at(gates.get("max_slice_gap"), source, "gates.max_slice_gap"),
            min_lift=numbers_at(gates.get("min_lift"), source, "gates.min_lift"),
            max_latency_ms_p95=number_at(
                gates.get("max_latency_ms_p95"), source, "gates.max_latency_ms_p95"
            ),
            max_model_mb=number_at(gates.get("max_model_mb"), source, "gates.max_model_mb"),
            mode=_gate_mode(gates.get("mode"), source),
        ),
        canary=_canary(canary, source),
        drift_share=monitoring.drift_share,
        usd_per_cpu_hour=number_at(
            mapping_at(raw.get("cost"), source, "cost").get("usd_per_cpu_hour", 0.05),
            source,
            "cost.usd_per_cpu_hour",
        ),
        requires=raw.get("requires"),
        source=source,
        monitoring=monitoring,
        replay=_replay(mapping_at(raw.get("replay"), source, "replay"), source),
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


def read_raw_at(name: str, rev: str, root: str | Path = ".") -> dict | None:
    """``environments/<name>.yaml`` as committed at ``rev``, unparsed (None: absent there)."""
    from mlops.core import tools

    source = f"{rev}:{paths.ENVIRONMENTS}/{name}.yaml"
    proc = tools.run(["git", "show", source], cwd=root, check=False)
    if proc.returncode != 0:
        return None
    try:
        return yaml.safe_load(proc.stdout) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(source, "", f"not valid YAML: {exc}".replace("\n", " ")) from exc


def names_at(rev: str, root: str | Path = ".") -> list[str]:
    """The environments that exist at ``rev``."""
    from mlops.core import tools

    out = tools.git("ls-tree", "--name-only", f"{rev}:{paths.ENVIRONMENTS}", cwd=root, check=False)
    return sorted(n[: -len(".yaml")] for n in out.splitlines() if n.endswith(".yaml"))


def load_at(name: str, rev: str, root: str | Path = ".") -> Environment | None:
    """The environment as committed at ``rev`` (None: it did not exist there)."""
    raw = read_raw_at(name, rev, root)
    source = f"{rev}:{paths.ENVIRONMENTS}/{name}.yaml"
    return None if raw is None else parse(raw, name, source)
