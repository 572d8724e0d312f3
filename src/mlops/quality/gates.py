"""Quality gates: one definition used by `mlops gate`, the PR report and `mlops check`.

A candidate's results (metrics, slices, serving budget, baselines) are checked against an
environment's ``gates``: absolute minimums, a minimum lift over the trivial baseline on the same
holdout (``min_lift``), maximum regression against the version live there, maximum gap between
segments, maximum latency and model size.

The regression gate compares like with like when it can: both models scored on the candidate's
holdout rows neither trained on (``mlops.quality.champion``, asked for with a ``scorer``);
otherwise the metrics the live version recorded on its own holdout, and ``Results.rows`` says which
it was.

Regressions and slice gaps are judged with their uncertainty (``mlops.evaluation.uncertainty``):
they fail only when the shortfall exceeds the allowance at 95 % confidence (one-sided), and a
segment too small to judge is reported as such rather than failing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core import paths
from mlops.core.io_utils import read_json
from mlops.evaluation.metric_names import (
    LOWER_IS_BETTER,  # log_loss, rmse, mae; the rest: higher is better
)
from mlops.formats.environments import Environment

if TYPE_CHECKING:
    from mlops.quality.champion import Champion, Scorer


@dataclass(frozen=True)
class Results:
    metrics: dict[str, float]
    slices: dict[str, Any]
    serving: dict[str, Any]
    rows: str = ""  # which rows the metrics were measured on, when a comparison must say so
    baselines: dict[str, Any] = field(default_factory=dict)  # reports/baselines.json
    # a live version scored on the candidate's rows: the candidate's metrics on those same rows,
    # and the standard error of each difference
    candidate: dict[str, float] | None = None
    se: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_workspace(cls, root: str | Path = ".") -> Results:
        root = Path(root)
        baselines = root / paths.BASELINES
        return cls(
            read_json(root / paths.METRICS),
            read_json(root / paths.SLICES),
            read_json(root / paths.SERVING),
            baselines=read_json(baselines) if baselines.is_file() else {},
        )

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> Results:
        return cls(
            metadata.get("metrics", {}),
            metadata.get("slices", {}),
            metadata.get("serving", {}),
            baselines=metadata.get("baselines", {}),
        )


@dataclass(frozen=True)
class GateResult:
    gate: str  # min, min_lift, max_regression, max_slice_gap, max_latency_ms_p95, max_model_mb
    metric: str
    value: float | None
    threshold: float
    passed: bool
    detail: str = ""
    dry_run: bool = False  # gates.mode dry_run: shown as "would block", never blocks

    @property
    def blocks(self) -> bool:
        return not self.passed and not self.dry_run

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "blocks": self.blocks}


def _slice_values(slices: dict[str, Any], metric: str) -> dict[str, float]:
    return {name: s[metric] for name, s in slices.get("slices", {}).items() if metric in s}


def _min_gates(env: Environment, r: Results) -> list[GateResult]:
    out = []
    for metric, low in env.gates.min.items():
        value = r.metrics.get(metric)
        ok = value is not None and (value <= low if metric in LOWER_IS_BETTER else value >= low)
        out.append(
            GateResult(
                "min", metric, value, low, ok, "missing from metrics" if value is None else ""
            )
        )
    return out


def _lift_gates(env: Environment, r: Results) -> list[GateResult]:
    """The candidate beats the trivial baseline (same holdout) by at least the margin."""
    out = []
    trivial = r.baselines.get("trivial", {})
    for metric, margin in env.gates.min_lift.items():
        value, base = r.metrics.get(metric), trivial.get(metric)
        if value is None or base is None:
            why = f"no trivial baseline for {metric} ({paths.BASELINES}; run `dvc repro`)"
            out.append(GateResult("min_lift", metric, None, margin, False, why))
            continue
        lift = round(base - value if metric in LOWER_IS_BETTER else value - base, 6)
        detail = f"candidate {value} vs trivial baseline {base}"
        out.append(GateResult("min_lift", metric, lift, margin, lift >= margin, detail))
    return out


def _regression_gates(env: Environment, r: Results, live: Results | None) -> list[GateResult]:
    from mlops.evaluation import uncertainty  # numpy: imported only when a gate is judged

    out = []
    for metric, tolerance in env.gates.max_regression.items():
        if live is None or metric not in live.metrics:
            out.append(
                GateResult(
                    "max_regression",
                    metric,
                    None,
                    tolerance,
                    True,
                    f"nothing live in {env.name} to compare with",
                )
            )
            continue
        ours = live.candidate if live.candidate is not None else r.metrics
        value, base = ours.get(metric), live.metrics[metric]
        drop = (
            None if value is None else (value - base if metric in LOWER_IS_BETTER else base - value)
        )
        se = live.se.get(metric)
        ok = drop is not None and not uncertainty.beyond_noise(drop, tolerance, se)
        where = f" ({live.rows})" if live.rows else ""
        noise = f"; drop {uncertainty.interval(round(drop, 6), se)} at 95 %" if se and drop else ""
        out.append(
            GateResult(
                "max_regression",
                metric,
                None if drop is None else round(drop, 6),
                tolerance,
                ok,
                f"live {base} -> candidate {value}{noise}{where}",
            )
        )
    return out


def _judged(slices: dict[str, Any], metric: str) -> tuple[dict[str, dict], list[str]]:
    """Slices that hold ``metric`` and enough rows to judge it; the names of those too small."""
    judged, small = {}, []
    for name, s in slices.get("slices", {}).items():
        if metric not in s or s[metric] != s[metric]:  # missing or NaN
            continue
        if s.get("too_small"):
            small.append(f"{name} ({s['too_small']})")
        else:
            judged[name] = s
    return judged, small


def _slice_gate(metric: str, max_gap: float, slices: dict[str, Any]) -> GateResult:
    from mlops.evaluation import uncertainty

    judged, small = _judged(slices, metric)
    too_small = f"; too small to judge: {', '.join(small)}" if small else ""
    if len(judged) < 2:
        if not small:
            return GateResult("max_slice_gap", metric, None, max_gap, False, "no slices")
        why = f"fewer than 2 slices large enough to judge{too_small}"
        return GateResult("max_slice_gap", metric, None, max_gap, True, why)
    value = {n: s[metric] for n, s in judged.items()}
    worst, best = min(value, key=value.get), max(value, key=value.get)
    if metric in LOWER_IS_BETTER:
        worst, best = best, worst
    gap = round(abs(value[best] - value[worst]), 6)
    ses = [judged[n].get("se", {}).get(metric) for n in (worst, best)]
    se = (ses[0] ** 2 + ses[1] ** 2) ** 0.5 if None not in ses else None
    ok = not uncertainty.beyond_noise(gap, max_gap, se)
    detail = (
        f"worst slice {worst} ({value[worst]}, {judged[worst].get('rows', '?')} rows), best "
        f"{best} ({value[best]}); gap {uncertainty.interval(gap, se)} at 95 %{too_small}"
    )
    return GateResult("max_slice_gap", metric, gap, max_gap, ok, detail)


def _slice_gates(env: Environment, r: Results) -> list[GateResult]:
    return [_slice_gate(m, gap, r.slices) for m, gap in env.gates.max_slice_gap.items()]


def _budget_gates(env: Environment, r: Results) -> list[GateResult]:
    out = []
    if env.gates.max_latency_ms_p95 is not None:
        p95 = r.serving.get("latency_ms_1_row", {}).get("p95")
        out.append(
            GateResult(
                "max_latency_ms_p95",
                "latency_ms_1_row.p95",
                p95,
                env.gates.max_latency_ms_p95,
                p95 is not None and p95 <= env.gates.max_latency_ms_p95,
            )
        )
    if env.gates.max_model_mb is not None:
        size = r.serving.get("model_mb")
        out.append(
            GateResult(
                "max_model_mb",
                "model_mb",
                size,
                env.gates.max_model_mb,
                size is not None and size <= env.gates.max_model_mb,
            )
        )
    return out


def check(env: Environment, candidate: Results, live: Results | None = None) -> list[GateResult]:
    """Every gate of ``env`` applied to ``candidate``; ``live`` is what the environment serves.
    A gate in ``gates.mode`` dry_run is computed all the same and marked so."""
    results = [
        *_min_gates(env, candidate),
        *_lift_gates(env, candidate),
        *_regression_gates(env, candidate, live),
        *_slice_gates(env, candidate),
        *_budget_gates(env, candidate),
    ]
    return [replace(r, dry_run=env.gates.dry_run(r.gate)) for r in results]


def passed(results: list[GateResult]) -> bool:
    """No gate blocks (a failing dry-run gate would block, and does not)."""
    return not any(r.blocks for r in results)


# --- the version live in an environment, and one environment's verdict -------------------


SAME_ROWS = "both on the candidate's holdout rows neither trained on"
OWN_HOLDOUT = "live on its own holdout"


@dataclass(frozen=True)
class Live:
    """What ``models.yaml`` says an environment serves, with that version's recorded results
    and, when it was asked for, its model scored on the candidate's holdout (``champion``).

    ``results`` is None when nothing is deployed or the version's tag cannot be read; ``note``
    then says why, in words a reviewer can act on.
    """

    env: str
    version: str | None = None
    results: Results | None = None
    note: str = ""
    champion: Champion | None = None
    data_md5: str | None = None  # the data.dvc md5 the live version was trained and held out on

    @property
    def compared(self) -> Results | None:
        """What ``max_regression`` compares the candidate with: the live model's metrics on the
        candidate's holdout when it was scored there; else the metrics it recorded on its own
        holdout (a different split when the data changed)."""
        champion = self.champion
        if champion is not None and champion.scored:
            rows = f"both on {champion.rows}" if champion.rows else SAME_ROWS
            return Results(
                champion.metrics, {}, {}, rows, candidate=champion.candidate, se=champion.se
            )
        if self.results is None or self.champion is None:
            return self.results
        return Results(self.results.metrics, {}, {}, OWN_HOLDOUT)


@dataclass(frozen=True)
class Verdict:
    env: str
    live: Live
    gates: list[GateResult]

    @property
    def passed(self) -> bool:
        return passed(self.gates)

    def failures(self) -> list[GateResult]:
        return [g for g in self.gates if g.blocks]

    def would_block(self) -> list[GateResult]:
        """Dry-run gates that fail: shown, never blocking."""
        return [g for g in self.gates if g.dry_run and not g.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "passed": self.passed,
            "live_version": self.live.version,
            "live_note": self.live.note,
            "compared_with": comparison(self.live),
            "gates": [g.to_dict() for g in self.gates],
        }


def compared_with(live: Live) -> str:
    """One clause: which numbers the regression gate compared the candidate with."""
    champion = live.champion
    if champion is None:
        return "its recorded metrics"
    if champion.scored:
        return f"scored on the same rows, {champion.rows}"
    return f"its recorded metrics on its own holdout, because {champion.note.rstrip('.')}"


def comparison(live: Live) -> dict[str, Any] | None:
    """What the regression gate compared with, for --json readers (None: not asked)."""
    champion = live.champion
    if champion is None:
        return None
    return {
        "same_rows": champion.scored,
        "rows": champion.rows,
        "row_count": champion.count,
        "metrics": champion.metrics,
        "candidate_metrics": champion.candidate,
        "standard_errors": champion.se,
        "note": champion.note,
    }


def live(root: str | Path, env: str, models=None, scorer: Scorer | None = None) -> Live:
    """The stable version ``env`` serves per models.yaml, with its metadata from the registry;
    with a ``scorer``, its model scored on the candidate's holdout too."""
    from mlops.core.errors import NotFoundError
    from mlops.formats import models_file
    from mlops.model import registry

    models = models if models is not None else models_file.load(Path(root) / paths.MODELS_FILE)
    model = models.default_model()
    deployment = models.deployment(env, model)
    if deployment is None:
        return Live(env, note=f"nothing deployed to {env} yet ({paths.MODELS_FILE})")
    version = deployment.stable.version
    try:
        found = registry.get_version(root, model, version)
    except NotFoundError:
        return Live(
            env,
            version,
            note=f"{registry.tag_name(model, version)} is in "
            f"{paths.MODELS_FILE} but its tag is not here (`git fetch --tags`)",
        )
    champion = scorer.champion(found, deployment.stable.digest) if scorer else None
    if not found.metadata.get("metrics"):
        note = f"{found.tag} records no metrics in its tag message"
        return Live(env, version, note=note, champion=champion)
    data_md5 = found.metadata.get("data_md5")
    return Live(env, version, Results.from_metadata(found.metadata), "", champion, data_md5)


def verdict(
    root: str | Path, env_name: str, candidate: Results, models=None, scorer: Scorer | None = None
) -> Verdict:
    """Every gate of ``environments/<env_name>.yaml`` for ``candidate`` against what is live:
    with a ``scorer`` (``mlops.quality.champion``), on the candidate's holdout rows."""
    from mlops.formats import environments

    env = environments.load(env_name, root)
    current = live(root, env_name, models, scorer)
    return Verdict(env_name, current, check(env, candidate, current.compared))
