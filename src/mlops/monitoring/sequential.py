"""Always-valid comparison of a canary with its stable: a confidence sequence on the difference
of two means that holds however often it is looked at.

A fixed threshold checked after every batch rolls back a healthy canary sooner or later: every
look is another chance for noise to cross it. A confidence sequence is an interval for the true
difference that contains it at *every* look at once with probability 1 - alpha (Robbins' normal
mixture; Howard et al. 2021, Johari et al. 2017 "always valid p-values"). With the estimate
``d = mean_canary - mean_stable`` and its variance ``V = var_c / n_c + var_s / n_s``, the mixture
of likelihood ratios over effects ``theta ~ N(0, tau^2)`` is

    Lambda(theta0) = sqrt(V / (V + tau^2)) * exp(tau^2 (d - theta0)^2 / (2 V (V + tau^2)))

and ``{theta0 : Lambda(theta0) < 1 / alpha}`` is the interval ``d +- radius(V)``. ``tau`` is the
smallest effect worth detecting: the mixture puts its weight where the effects that matter are.

Two kinds of comparison (``Test.kind``):

- ``harm`` (error rate, live error): higher is worse. Roll back when the interval's lower end is
  above 0 (the canary is worse, surely); promote when its upper end is below the smallest effect
  worth detecting (any harm is smaller than that, surely); otherwise keep watching.
- ``shift`` (the prediction distribution): a new model predicts differently by design, so the
  question is whether it moved more than ``min_effect``: roll back when the whole interval lies
  beyond +-min_effect, promote when it lies within, otherwise keep watching.

The guarantee is exact for normal data with known variance; here the variances are estimated
(Bernoulli ones smoothed so that no errors yet is not "no variance") and the tests check by
simulation that the false-rollback rate stays at or below alpha when looked at after every
batch. Everything is vectorised: the simulation runs thousands of canaries at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

HARM, SHIFT = "harm", "shift"
ROLLBACK, PROMOTE, WATCH = "rollback", "promote", "watch"
MAX_FORECAST = 10**9  # requests: beyond this, "would change it" says "not within reach"


@dataclass(frozen=True)
class Moments:
    """What a stream of per-request values reduces to: count, mean and variance."""

    n: float
    mean: float
    var: float

    @classmethod
    def bernoulli(cls, hits: float, n: float) -> Moments:
        """A share (errors per request, wrong answers per labelled request). The variance uses
        the share smoothed by half an event each way, so zero errors in 100 requests is not
        taken as proof that the error rate is exactly zero."""
        smoothed = (hits + 0.5) / (n + 1.0)
        return cls(n, hits / n if n else 0.0, smoothed * (1 - smoothed))

    @classmethod
    def of(cls, values) -> Moments:
        values = np.asarray(values, dtype="float64")
        if len(values) == 0:
            return cls(0, 0.0, 0.0)
        return cls(
            len(values), float(values.mean()), float(values.var(ddof=1) if len(values) > 1 else 0.0)
        )


def variance(var_c, n_c, var_s, n_s):
    """The difference of means' variance (numpy arrays or floats)."""
    return var_c / n_c + var_s / n_s


def radius(var, tau: float, alpha: float):
    """Half-width of the confidence sequence at a difference whose variance is ``var``."""
    var = np.maximum(var, 1e-300)
    tau2 = tau * tau
    return np.sqrt(
        var * (var + tau2) / tau2 * (2 * math.log(1 / alpha) + np.log((var + tau2) / var))
    )


def log_evidence(diff, var, tau: float, theta0=0.0):
    """log Lambda(theta0): the mixture likelihood ratio against "the difference is theta0"."""
    var = np.maximum(var, 1e-300)
    tau2 = tau * tau
    return 0.5 * np.log(var / (var + tau2)) + tau2 * (diff - theta0) ** 2 / (2 * var * (var + tau2))


def decide(diff, rad, kind: str, min_effect: float):
    """Vectorised verdicts: ROLLBACK, PROMOTE or WATCH for each (diff, radius)."""
    low, high = diff - rad, diff + rad
    if kind == HARM:
        rollback, promote = low > 0, high < min_effect
    else:
        rollback = (low > min_effect) | (high < -min_effect)
        promote = (low > -min_effect) & (high < min_effect)
    return np.where(rollback, ROLLBACK, np.where(promote, PROMOTE, WATCH))


@dataclass(frozen=True)
class Test:
    """One sequential comparison at one look, with what a reviewer needs to trust it."""

    name: str
    kind: str  # harm | shift
    unit: str  # what the difference is measured in
    verdict: str  # rollback | promote | keep watching | "" (no data yet)
    canary: Moments
    stable: Moments
    difference: float | None
    lower: float | None
    upper: float | None
    min_effect: float
    alpha: float
    log_evidence: float | None  # log Lambda against the null boundary nearest the estimate
    change: str  # what would change the verdict
    detail: str = ""

    @property
    def evidence(self) -> float | None:
        """Lambda, capped for display: the verdict needs 1/alpha."""
        if self.log_evidence is None:
            return None
        return math.exp(min(self.log_evidence, 700.0))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["evidence"] = self.evidence
        out["threshold"] = 1 / self.alpha
        return out


def _boundary(diff: float, kind: str, min_effect: float) -> float:
    """The null value nearest the estimate whose rejection would roll back."""
    if kind == HARM:
        return 0.0
    return math.copysign(min_effect, diff) if diff else min_effect


def _needed(var_per_request: float, gap: float, tau: float, alpha: float) -> float | None:
    """Requests (both routes, at today's split) at which the radius falls below ``gap``."""
    if gap <= 0 or var_per_request <= 0:
        return None
    low, high = 1.0, 2.0
    while radius(var_per_request / high, tau, alpha) >= gap:
        high *= 2
        if high > MAX_FORECAST:
            return None
    while high - low > max(1.0, low * 0.01):
        mid = (low + high) / 2
        low, high = (mid, high) if radius(var_per_request / mid, tau, alpha) >= gap else (low, mid)
    return high


def _change(t: dict, rad: float, var: float, total: float) -> str:
    """What would change the verdict, in words and request counts."""
    d, kind, m = t["difference"], t["kind"], t["min_effect"]
    if t["verdict"] != WATCH:
        return (
            f"the interval holds at every look, so watching longer cannot reverse this at "
            f"{t['alpha']:g}; only a new canary (a new models.yaml change) restarts the test"
        )
    per_request = var * total  # the variance of one request's worth of evidence, at this split
    if kind == HARM:
        targets = [(ROLLBACK, d), (PROMOTE, m - d)]
    else:
        targets = [(ROLLBACK, abs(d) - m), (PROMOTE, m - abs(d))]
    parts = []
    for verdict, gap in targets:
        more = _needed(per_request, gap, t["tau"], t["alpha"])
        if more is not None and more > total:
            parts.append(f"{verdict} after about {more - total:,.0f} more requests")
    if not parts:
        return f"no verdict in reach at this difference; the interval's half-width is {rad:.4g}"
    return "if the difference stays where it is: " + "; ".join(parts)


def compare(
    name: str,
    canary: Moments,
    stable: Moments,
    *,
    kind: str,
    min_effect: float,
    alpha: float,
    min_requests: int,
    unit: str = "",
    detail: str = "",
    scale: float = 1.0,
) -> Test:
    """The sequential comparison of ``canary`` with ``stable`` at this look; the difference is
    measured in units of ``scale`` (a standard deviation, for a shift)."""
    base = dict(name=name, kind=kind, unit=unit, canary=canary, stable=stable,
                min_effect=min_effect, alpha=alpha, detail=detail)  # fmt: skip
    if min(canary.n, stable.n) < min_requests:
        change = (
            f"waiting for {min_requests} on each route (canary {canary.n:g}, stable {stable.n:g})"
        )
        return Test(**base, verdict=WATCH if canary.n or stable.n else "", difference=None,
                    lower=None, upper=None, log_evidence=None, change=change)  # fmt: skip
    scale = scale if scale > 0 else 1e-12
    d = (canary.mean - stable.mean) / scale
    var = float(variance(canary.var, canary.n, stable.var, stable.n)) / (scale * scale)
    rad = float(radius(var, min_effect, alpha))
    verdict = str(decide(np.float64(d), rad, kind, min_effect))
    evidence = float(log_evidence(d, var, min_effect, _boundary(d, kind, min_effect)))
    t = {**base, "difference": d, "verdict": verdict, "tau": min_effect}
    return Test(**base, verdict=verdict, difference=d, lower=d - rad, upper=d + rad,
                log_evidence=evidence,
                change=_change(t, rad, var, canary.n + stable.n))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# simulation: how the figures in docs/monitoring.md are measured, and what the tests check


def simulate(
    *,
    canaries: int,
    batches: int,
    batch: int,
    traffic: float,
    stable_rate: float,
    canary_rate: float,
    kind: str = HARM,
    min_effect: float,
    alpha: float,
    min_requests: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    """``canaries`` independent canaries of Bernoulli requests (error or not), each looked at
    after every ``batch`` requests: how many were rolled back, and after how many requests."""
    rng = np.random.default_rng(seed)
    on_canary = rng.binomial(batch, traffic, size=(canaries, batches))
    n_c = np.cumsum(on_canary, axis=1).astype("float64")
    n_s = np.cumsum(batch - on_canary, axis=1).astype("float64")
    x_c = np.cumsum(rng.binomial(on_canary, canary_rate), axis=1)
    x_s = np.cumsum(rng.binomial(batch - on_canary, stable_rate), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_c, p_s = x_c / n_c, x_s / n_s
        sm_c, sm_s = (x_c + 0.5) / (n_c + 1), (x_s + 0.5) / (n_s + 1)
        var = variance(sm_c * (1 - sm_c), n_c, sm_s * (1 - sm_s), n_s)
        verdicts = decide(p_c - p_s, radius(var, min_effect, alpha), kind, min_effect)
    ready = (n_c >= min_requests) & (n_s >= min_requests)
    rolled = (verdicts == ROLLBACK) & ready
    ever = rolled.any(axis=1)
    first = np.argmax(rolled, axis=1)
    requests = (first + 1) * batch
    return {
        "canaries": canaries,
        "looks": batches,
        "rolled_back": int(ever.sum()),
        "rate": float(ever.mean()),
        "requests_to_rollback": requests[ever],
        "canary_requests_to_rollback": n_c[np.arange(canaries), first][ever],
    }
