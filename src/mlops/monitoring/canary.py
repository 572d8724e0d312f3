"""Canary analysis: is the canary worse than the stable, or is this noise?

Reads the live server's ``/metrics`` (names in ``mlops.serve.metrics``), filtered to the versions
models.yaml pins for the environment, and, where they can be read, the prediction log joined to
the outcomes that arrived. Three comparisons of canary minus stable, each a sequential test that
stays valid however often the analysis runs (``mlops.monitoring.sequential``), with the
environment's ``canary.alpha`` (the false-rollback rate) and ``canary.min_effect``:

- ``error_rate``: the share of requests answered 5xx (a 4xx is the client's mistake, a request
  the schema refused, and says nothing about the model);
- ``live_error``: wrong answers per labelled request (regression: absolute error in outcome
  standard deviations), from the outcomes as they arrive (``mlops.monitoring.live_error``);
- ``prediction_shift``: the mean prediction (binary: the positive class's probability;
  regression: the value; multiclass: each class's share, Bonferroni over the classes), in the
  stable's standard deviations.

Beside them, ``canary.abort_on.p99_ms`` is a latency budget: breached by the canary alone (or by
a canary 10 % slower than a stable that breaches it too), it rolls back.

Verdict: ``rollback`` when any comparison shows the canary worse (or the budget breached);
``promote`` when every comparison with data shows any harm smaller than ``min_effect``;
otherwise ``watch`` (keep watching). Each comparison says its statistic, the evidence so far and
what would change it. The change it leads to is a Git change (``mlops.monitoring.canary_pr``),
never a switch on the server.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from mlops.core import paths
from mlops.core.errors import MlopsError
from mlops.formats import environments, models_file, prometheus
from mlops.formats.prometheus import Sample, _select, bucket_shares, buckets, quantile
from mlops.monitoring import sequential
from mlops.monitoring.sequential import PROMOTE, ROLLBACK, WATCH, Moments

REQUESTS = "mlops_requests_total"
LATENCY = "mlops_request_latency_seconds"
SCORE = "mlops_prediction_score"
CLASSES = "mlops_predicted_class_total"
VALUES = "mlops_prediction_value"
MIN_REQUESTS = environments.CanaryPolicy.min_requests
WORSE_MARGIN = 1.1  # when both breach the latency budget, the canary must be 10 % worse


class CanaryError(MlopsError):
    """The canary cannot be analysed (no canary, server unreachable, metrics missing)."""


# ---------------------------------------------------------------------------------------------
# metric text -> per-route numbers


def parse_metrics(text: str) -> list[Sample]:
    """Prometheus text -> flat samples (``mlops.formats.prometheus``)."""
    try:
        return prometheus.parse_metrics(text)
    except prometheus.MetricsError as exc:
        raise CanaryError(str(exc)) from exc


@dataclass(frozen=True)
class RouteStats:
    version: str
    route: str
    requests: float
    errors: float
    p99_ms: float | None
    scores: list[tuple[float, float]] = field(default_factory=list)  # cumulative buckets
    score_sum: float = 0.0
    classes: dict[str, float] = field(default_factory=dict)  # rows per predicted class
    values: dict[str, float] = field(default_factory=dict)  # sum, squares, count
    client_errors: float = 0.0  # 4xx: refused requests, never the model's fault

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.answered if self.answered else None

    @property
    def answered(self) -> float:
        """Requests the model was asked to answer (every request but the refused ones)."""
        return self.requests - self.client_errors

    def score_moments(self) -> Moments | None:
        """Binary: the positive class's probability. The mean is exact (the histogram's sum);
        the variance comes from the buckets (mid-points, plus each bucket's own spread)."""
        n = self.scores[-1][1] if self.scores else 0.0
        if n <= 0:
            return None
        mean = self.score_sum / n
        second, low = 0.0, 0.0
        for (bound, _), share in zip(self.scores, bucket_shares(self.scores), strict=True):
            high = low if math.isinf(bound) else bound
            mid, width = (low + high) / 2, high - low
            second += share * (mid * mid + width * width / 12)
            low = high
        return Moments(n, mean, max(second - mean * mean, 0.0))

    def value_moments(self) -> Moments | None:
        """Regression: the predicted value (sum, sum of squares and count are exact)."""
        n = self.values.get("count", 0.0)
        if n <= 1:
            return None
        mean = self.values["sum"] / n
        var = max(self.values["squares"] - n * mean * mean, 0.0) / (n - 1)
        return Moments(n, mean, var)


def route_stats(samples: list[Sample], version: str, route: str) -> RouteStats:
    requests = _select(samples, REQUESTS, version, route)
    total = sum(s.value for s in requests)
    errors = sum(s.value for s in requests if s.labels.get("status", "").startswith("5"))
    refused = sum(s.value for s in requests if s.labels.get("status", "").startswith("4"))
    p99 = quantile(0.99, buckets(samples, LATENCY, version, route))
    score_sum = sum(s.value for s in _select(samples, f"{SCORE}_sum", version, route))
    return RouteStats(
        version,
        route,
        total,
        errors,
        None if p99 is None else p99 * 1000,
        buckets(samples, SCORE, version, route),
        score_sum,
        {s.labels["cls"]: s.value for s in _select(samples, CLASSES, version, route)},
        {s.labels["stat"]: s.value for s in _select(samples, VALUES, version, route)},
        refused,
    )


# ---------------------------------------------------------------------------------------------
# the comparisons


def _test(policy: environments.CanaryPolicy, name: str, canary: Moments, stable: Moments,
          kind: str, unit: str, detail: str, effect: str, alpha: float | None = None,
          scale: float = 1.0):  # fmt: skip
    return sequential.compare(
        name, canary, stable, kind=kind, min_effect=policy.min_effect[effect],
        alpha=alpha or policy.alpha, min_requests=policy.min_requests, unit=unit, detail=detail,
        scale=scale,
    )  # fmt: skip


def error_test(policy, stable: RouteStats, canary: RouteStats) -> sequential.Test:
    return _test(
        policy, "error_rate",
        Moments.bernoulli(canary.errors, canary.answered),
        Moments.bernoulli(stable.errors, stable.answered),
        sequential.HARM, "share of requests", "5xx answers per request (4xx excluded)",
        "error_rate",
    )  # fmt: skip


def prediction_tests(policy, stable: RouteStats, canary: RouteStats) -> list[sequential.Test]:
    """The prediction distribution per task (module docstring), in the stable's SDs."""
    unit = "stable SDs"
    if stable.classes or canary.classes:
        names = sorted(stable.classes.keys() | canary.classes.keys())
        n_s, n_c = sum(stable.classes.values()), sum(canary.classes.values())
        out = []
        for name in names:
            s = Moments.bernoulli(stable.classes.get(name, 0.0), n_s)
            c = Moments.bernoulli(canary.classes.get(name, 0.0), n_c)
            scale = math.sqrt(s.var)
            out.append(_test(
                policy, f"prediction_shift[{name}]", c,
                s, sequential.SHIFT, unit,
                f"share of rows predicted {name!r} (alpha split over {len(names)} classes)",
                "prediction_shift", policy.alpha / len(names), scale,
            ))  # fmt: skip
        return out
    if stable.values or canary.values:
        s, c, detail = stable.value_moments(), canary.value_moments(), "mean predicted value"
    else:
        s, c = stable.score_moments(), canary.score_moments()
        detail = "mean probability of the positive class"
    s, c = s or Moments(0, 0.0, 0.0), c or Moments(0, 0.0, 0.0)
    return [_test(policy, "prediction_shift", c, s, sequential.SHIFT, unit, detail,
                  "prediction_shift", scale=math.sqrt(s.var))]  # fmt: skip


@dataclass(frozen=True)
class Check:
    """A budget the canary must keep (``canary.abort_on``), whatever the statistics say."""

    name: str  # p99_ms
    canary: float | None
    stable: float | None
    limit: float
    breached: bool
    stable_breached: bool
    detail: str = ""

    @property
    def blamed(self) -> bool:
        """Breached by the canary alone, or by a canary clearly worse than a breaching stable."""
        if not self.breached:
            return False
        return not self.stable_breached or self.canary > self.stable * WORSE_MARGIN


def budget_checks(stable: RouteStats, canary: RouteStats, abort_on: dict[str, float]):
    if "p99_ms" not in abort_on:
        return []
    limit = abort_on["p99_ms"]
    return [
        Check(
            "p99_ms", canary.p99_ms, stable.p99_ms, limit,
            canary.p99_ms is not None and canary.p99_ms > limit,
            stable.p99_ms is not None and stable.p99_ms > limit,
            "99th percentile latency from histogram buckets",
        )
    ]  # fmt: skip


@dataclass
class Analysis:
    env: str
    stable: RouteStats
    canary: RouteStats
    traffic: int
    tests: list[sequential.Test]
    checks: list[Check]
    verdict: str  # promote | watch | rollback
    reasons: list[str]
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)  # what could not be compared, and why

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == ROLLBACK else 0

    def to_dict(self) -> dict[str, Any]:
        def route(r: RouteStats) -> dict[str, Any]:
            return {"version": r.version, "requests": r.requests, "errors": r.errors,
                    "error_rate": r.error_rate, "p99_ms": r.p99_ms}  # fmt: skip

        return {
            "env": self.env,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "alpha": self.alpha,
            "traffic": self.traffic,
            "stable": route(self.stable),
            "canary": route(self.canary),
            "tests": [t.to_dict() for t in self.tests],
            "checks": [asdict(c) for c in self.checks],
            "notes": self.notes,
        }


def _describe(t: sequential.Test) -> str:
    if t.difference is None:
        return f"{t.name}: {t.change}"
    return (
        f"{t.name}: canary - stable = {t.difference:+.4g} {t.unit}, interval "
        f"[{t.lower:+.4g}, {t.upper:+.4g}] at alpha {t.alpha:g} (min effect {t.min_effect:g})"
    )


def decide(tests: list[sequential.Test], found: list[Check], canary: RouteStats,
           min_requests: int = MIN_REQUESTS) -> tuple[str, list[str]]:  # fmt: skip
    """promote / watch / rollback, with the reasons a reviewer reads."""
    worse = [_describe(t) for t in tests if t.verdict == ROLLBACK]
    enough = canary.requests >= min_requests
    worse += [f"{c.name} {c.canary:.4g} > budget {c.limit:g} (stable {_num(c.stable)})"
              for c in found if c.blamed and enough]  # fmt: skip
    if worse:
        return ROLLBACK, worse
    judged = [t for t in tests if t.verdict]
    waiting = [t for t in judged if t.verdict != PROMOTE]
    shared = [c for c in found if c.breached]
    if not enough or waiting or not judged or shared:
        reasons = [_describe(t) + (f"; {t.change}" if t.lower is not None else "")
                   for t in waiting]  # fmt: skip
        reasons += [f"{c.name} {c.canary:.4g} > budget {c.limit:g}, but the stable breaches "
                    "it too: not the canary's doing" for c in shared]  # fmt: skip
        return WATCH, reasons or [f"waiting for {min_requests} canary requests"]
    return PROMOTE, [f"{_describe(t)}: any harm is below the min effect" for t in judged]


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def analyze(
    env: environments.Environment,
    deployment: models_file.Deployment,
    metrics_text: str,
    live: tuple[tuple[Moments, Moments] | None, str] | None = None,
) -> Analysis:
    """The pure core: metric text (+ the live error per route, or why there is none) + policy +
    what models.yaml pins -> an analysis."""
    if deployment.canary is None:
        raise CanaryError(
            f"{paths.MODELS_FILE}: {env.name} has no canary to analyse "
            f"(`mlops promote {env.name} vX.Y.Z --canary 10` starts one)"
        )
    samples = parse_metrics(metrics_text)
    if not any(s.name == REQUESTS for s in samples):
        raise CanaryError(f"the server's /metrics has no {REQUESTS}; is it `mlops serve`?")
    policy = env.canary
    stable = route_stats(samples, deployment.stable.version, "stable")
    canary = route_stats(samples, deployment.canary.version, "canary")
    tests = [error_test(policy, stable, canary)]
    notes = []
    pair, why = live if live is not None else (None, "outcomes were not read")
    if pair is not None:
        tests.append(_test(policy, "live_error", pair[0], pair[1], sequential.HARM,
                           "per labelled request", why, "live_error"))  # fmt: skip
    else:
        notes.append(f"live_error not compared: {why}")
    tests += prediction_tests(policy, stable, canary)
    found = budget_checks(stable, canary, policy.abort_on)
    verdict, reasons = decide(tests, found, canary, policy.min_requests)
    return Analysis(env.name, stable, canary, deployment.canary.traffic, tests, found, verdict,
                    reasons, policy.alpha, notes)  # fmt: skip


VERDICT_WORDS = {PROMOTE: "promote", ROLLBACK: "roll back", WATCH: "keep watching"}


def _cell(value: float | None, fmt: str = "+.4g") -> str:
    return "n/a" if value is None else format(value, fmt)


def markdown(a: Analysis) -> str:
    lines = [
        f"## Canary in {a.env}: **{VERDICT_WORDS[a.verdict]}**",
        "",
        f"Canary {a.canary.version} ({a.traffic} % of traffic, {a.canary.requests:g} requests) vs "
        f"stable {a.stable.version} ({a.stable.requests:g} requests). Sequential tests at "
        f"alpha {a.alpha:g}: a healthy canary is rolled back at most {a.alpha:.0%} of the time, "
        "however often this analysis runs.",
        "",
        "| comparison | canary | stable | difference (canary - stable) | interval | min effect "
        "| evidence (needs) | says |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for t in a.tests:
        interval = "n/a" if t.lower is None else f"[{t.lower:+.4g}, {t.upper:+.4g}]"
        evidence = "n/a" if t.evidence is None else f"{t.evidence:.3g} ({1 / t.alpha:g})"
        lines.append(
            f"| {t.name} ({t.unit}) | {_cell(t.canary.mean if t.canary.n else None, '.4g')} "
            f"(n={t.canary.n:g}) | {_cell(t.stable.mean if t.stable.n else None, '.4g')} "
            f"(n={t.stable.n:g}) | {_cell(t.difference)} | {interval} | {t.min_effect:g} | "
            f"{evidence} | {VERDICT_WORDS.get(t.verdict, 'no data')} |"
        )
    for c in a.checks:
        lines.append(
            f"| {c.name} (budget) | {_num(c.canary)} | {_num(c.stable)} | | | {c.limit:g} | | "
            f"{'**breached**' if c.breached else 'within'} |"
        )
    lines += ["", *[f"- {r}" for r in a.reasons], *[f"- {n}" for n in a.notes]]
    lines += ["", "What would change it:", ""]
    lines += [f"- {t.name}: {t.change}" for t in a.tests]
    return "\n".join(lines) + "\n"
