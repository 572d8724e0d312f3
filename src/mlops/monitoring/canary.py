"""Canary analysis: canary vs stable on the live server's Prometheus metrics.

Reads ``/metrics`` (names fixed in CONVENTIONS.md), filtered to the versions models.yaml pins for
the environment, and checks the canary against ``canary.abort_on`` in environments/ENV.yaml:

- ``error_rate``: share of the route's requests answered 5xx (a 4xx is the client's mistake —
  a request the schema refused — and says nothing about the model);
- ``p99_ms``: 99th percentile latency, interpolated in the histogram buckets the way
  Prometheus' ``histogram_quantile`` does;
- the predictions, per task (what the server counted for the route tells the task):
  ``score_psi`` (binary): population stability index between the canary's and the stable's
  histograms of the positive class's probability; ``class_psi`` (multiclass): the same over
  the shares of each predicted class; both default to 0.2, the usual "significant shift" line,
  when the file does not set them. ``value_shift`` (regression): how far the canary's mean
  prediction is from the stable's, in the stable's standard deviations (default 0.25).

Verdict: ``rollback`` when the canary breaches a limit the stable keeps (or is worse than a
stable that breaches it too, by a margin); ``hold`` while the canary has too little traffic or
the whole environment is unhealthy; ``promote`` when it has enough traffic and breaches nothing.
The change it leads to is a Git change (a branch and a commit editing models.yaml, pushed as a
pull request by issue 4's promotion code), never a switch on the server.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops import environments, models_file, paths, tools
from mlops.errors import MlopsError, NotFoundError

REQUESTS = "mlops_requests_total"
LATENCY = "mlops_request_latency_seconds"
SCORE = "mlops_prediction_score"
CLASSES = "mlops_predicted_class_total"
VALUES = "mlops_prediction_value"
DEFAULT_SCORE_PSI = 0.2
DEFAULT_VALUE_SHIFT = 0.25
MIN_REQUESTS = 100  # canary requests needed before a promote or a rollback on rates
PSI_EPSILON = 1e-4
WORSE_MARGIN = 1.1  # when both breach, the canary must be 10 % worse to be blamed


class CanaryError(MlopsError):
    """The canary cannot be analysed (no canary, server unreachable, metrics missing)."""


# ---------------------------------------------------------------------------------------------
# metric text -> per-route numbers


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse_metrics(text: str) -> list[Sample]:
    """Prometheus text exposition -> flat samples (``prometheus_client.parser``)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        return [
            Sample(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    except (ValueError, TypeError) as exc:
        raise CanaryError(f"/metrics is not Prometheus text: {exc}") from exc


def _select(samples: list[Sample], name: str, version: str, route: str) -> list[Sample]:
    return [
        s
        for s in samples
        if s.name == name and s.labels.get("version") == version and s.labels.get("route") == route
    ]


def buckets(
    samples: list[Sample], name: str, version: str, route: str
) -> list[tuple[float, float]]:
    """Cumulative histogram buckets ``[(upper bound, count), ...]`` sorted by bound."""
    rows = [
        (float(s.labels["le"]), s.value) for s in _select(samples, f"{name}_bucket", version, route)
    ]
    return sorted(rows)


def quantile(q: float, cumulative: list[tuple[float, float]]) -> float | None:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket holding rank
    q; the +Inf bucket answers with the highest finite bound."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    total = cumulative[-1][1]
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return prev_bound
            if count == prev_count:
                return bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = bound, count
    return prev_bound


def bucket_shares(cumulative: list[tuple[float, float]]) -> list[float]:
    """Cumulative counts -> the share of observations in each bucket."""
    counts, prev = [], 0.0
    for _, count in cumulative:
        counts.append(max(count - prev, 0.0))
        prev = count
    total = sum(counts)
    return [c / total for c in counts] if total else []


def psi(expected: list[float], actual: list[float]) -> float | None:
    """Population stability index of ``actual`` against ``expected`` (same buckets)."""
    if not expected or len(expected) != len(actual):
        return None
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, PSI_EPSILON), max(a, PSI_EPSILON)
        total += (a - e) * math.log(a / e)
    return total


@dataclass(frozen=True)
class RouteStats:
    version: str
    route: str
    requests: float
    errors: float
    p99_ms: float | None
    scores: list[float] = field(default_factory=list)  # share per score bucket
    scored: float = 0.0
    classes: dict[str, float] = field(default_factory=dict)  # rows per predicted class
    values: dict[str, float] = field(default_factory=dict)  # sum, squares, count

    @property
    def value_mean_std(self) -> tuple[float, float] | None:
        n = self.values.get("count", 0.0)
        if n <= 0:
            return None
        mean = self.values["sum"] / n
        return mean, math.sqrt(max(self.values["squares"] / n - mean * mean, 0.0))

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


def route_stats(samples: list[Sample], version: str, route: str) -> RouteStats:
    requests = _select(samples, REQUESTS, version, route)
    total = sum(s.value for s in requests)
    errors = sum(s.value for s in requests if s.labels.get("status", "").startswith("5"))
    p99 = quantile(0.99, buckets(samples, LATENCY, version, route))
    score_buckets = buckets(samples, SCORE, version, route)
    return RouteStats(
        version,
        route,
        total,
        errors,
        None if p99 is None else p99 * 1000,
        bucket_shares(score_buckets),
        score_buckets[-1][1] if score_buckets else 0,
        {s.labels["cls"]: s.value for s in _select(samples, CLASSES, version, route)},
        {s.labels["stat"]: s.value for s in _select(samples, VALUES, version, route)},
    )


def class_shares(stable: RouteStats, canary: RouteStats) -> tuple[list[float], list[float]]:
    """Both routes' shares of each predicted class, over the classes either predicted."""
    names = sorted(stable.classes.keys() | canary.classes.keys())

    def shares(counts: dict[str, float]) -> list[float]:
        total = sum(counts.values())
        return [counts.get(n, 0.0) / total for n in names] if total else []

    return shares(stable.classes), shares(canary.classes)


def value_shift(stable: RouteStats, canary: RouteStats) -> float | None:
    """|canary mean - stable mean| in the stable's standard deviations."""
    s, c = stable.value_mean_std, canary.value_mean_std
    if s is None or c is None:
        return None
    return abs(c[0] - s[0]) / s[1] if s[1] > 0 else (0.0 if c[0] == s[0] else math.inf)


# ---------------------------------------------------------------------------------------------
# the verdict


@dataclass(frozen=True)
class Check:
    name: str  # error_rate | p99_ms | score_psi
    canary: float | None
    stable: float | None
    limit: float
    breached: bool
    stable_breached: bool
    detail: str = ""


@dataclass
class Analysis:
    env: str
    stable: RouteStats
    canary: RouteStats
    traffic: int
    checks: list[Check]
    verdict: str  # promote | hold | rollback
    reasons: list[str]

    @property
    def exit_code(self) -> int:
        return 1 if self.verdict == "rollback" else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "traffic": self.traffic,
            "stable": {**asdict(self.stable), "error_rate": self.stable.error_rate},
            "canary": {**asdict(self.canary), "error_rate": self.canary.error_rate},
            "checks": [asdict(c) for c in self.checks],
        }


def _check(
    name: str, canary: float | None, stable: float | None, limit: float, detail: str = ""
) -> Check:
    breached = canary is not None and canary > limit
    stable_breached = stable is not None and stable > limit
    return Check(name, canary, stable, limit, breached, stable_breached, detail)


def checks(stable: RouteStats, canary: RouteStats, abort_on: dict[str, float]) -> list[Check]:
    out = []
    if "error_rate" in abort_on:
        out.append(
            _check(
                "error_rate",
                canary.error_rate,
                stable.error_rate,
                abort_on["error_rate"],
                "5xx share of requests",
            )
        )
    if "p99_ms" in abort_on:
        out.append(
            _check(
                "p99_ms",
                canary.p99_ms,
                stable.p99_ms,
                abort_on["p99_ms"],
                "99th percentile latency from histogram buckets",
            )
        )
    out.append(prediction_check(stable, canary, abort_on))
    return out


def prediction_check(stable: RouteStats, canary: RouteStats, abort_on: dict[str, float]) -> Check:
    """The canary's predictions against the stable's, per task (module docstring)."""
    if stable.classes or canary.classes:
        name, limit = "class_psi", abort_on.get("class_psi", DEFAULT_SCORE_PSI)
        value = psi(*class_shares(stable, canary))
        detail = "PSI of the canary's predicted-class shares against the stable's"
    elif stable.values or canary.values:
        name, limit = "value_shift", abort_on.get("value_shift", DEFAULT_VALUE_SHIFT)
        value = value_shift(stable, canary)
        detail = "|mean prediction - stable's| / stable's standard deviation"
    else:
        name, limit = "score_psi", abort_on.get("score_psi", DEFAULT_SCORE_PSI)
        value = psi(stable.scores, canary.scores)
        detail = "PSI of the canary's score histogram against the stable's"
    breached = value is not None and value > limit
    return Check(name, value, 0.0 if value is not None else None, limit, breached, False, detail)


def decide(
    stable: RouteStats, canary: RouteStats, found: list[Check], min_requests: int = MIN_REQUESTS
) -> tuple[str, list[str]]:
    """promote / hold / rollback, with the reasons a reviewer reads."""
    blame, shared = [], []
    for c in found:
        if not c.breached:
            continue
        text = f"{c.name} {c.canary:.4g} > {c.limit:g} (stable {_num(c.stable)})"
        worse = c.stable is None or c.canary > c.stable * WORSE_MARGIN
        (blame if not c.stable_breached or worse else shared).append(text)
    if blame and canary.requests >= min_requests:
        return "rollback", blame
    if canary.requests < min_requests or stable.requests < min_requests:
        waiting = (
            f"not enough traffic yet: canary {canary.requests:g}, stable "
            f"{stable.requests:g} requests (need {min_requests} each)"
        )
        return "hold", [waiting, *blame]
    if shared:
        return "hold", [
            f"the stable breaches too, so the canary is not to blame: {t}" for t in shared
        ]
    return "promote", [f"{c.name} {_num(c.canary)} within {c.limit:g}" for c in found]


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def analyze(
    env: environments.Environment,
    deployment: models_file.Deployment,
    metrics_text: str,
    min_requests: int = MIN_REQUESTS,
) -> Analysis:
    """The pure core: metric text + policy + what models.yaml pins -> an analysis."""
    if deployment.canary is None:
        raise CanaryError(
            f"{paths.MODELS_FILE}: {env.name} has no canary to analyse "
            f"(`mlops promote {env.name} vX.Y.Z --canary 10` starts one)"
        )
    samples = parse_metrics(metrics_text)
    if not any(s.name == REQUESTS for s in samples):
        raise CanaryError(f"the server's /metrics has no {REQUESTS}; is it `mlops serve`?")
    stable = route_stats(samples, deployment.stable.version, "stable")
    canary = route_stats(samples, deployment.canary.version, "canary")
    found = checks(stable, canary, env.canary.abort_on)
    verdict, reasons = decide(stable, canary, found, min_requests)
    return Analysis(env.name, stable, canary, deployment.canary.traffic, found, verdict, reasons)


def markdown(a: Analysis) -> str:
    lines = [
        f"## Canary in {a.env}: **{a.verdict}**",
        "",
        f"Canary {a.canary.version} ({a.traffic} % of traffic) vs stable {a.stable.version}.",
        "",
        "| check | canary | stable | limit | breached |",
        "|---|---:|---:|---:|:---:|",
        f"| requests | {a.canary.requests:g} | {a.stable.requests:g} | | |",
    ]
    for c in a.checks:
        lines.append(
            f"| {c.name} | {_num(c.canary)} | {_num(c.stable)} | {c.limit:g} | "
            f"{'**yes**' if c.breached else 'no'} |"
        )
    lines += ["", *[f"- {r}" for r in a.reasons]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# I/O: scrape, and the Git change


def scrape(url: str, timeout: float = 10.0) -> str:
    import httpx

    target = url.rstrip("/") + "/metrics"
    try:
        response = httpx.get(target, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise CanaryError(
            f"cannot read {target} ({type(exc).__name__}: {exc}); is the server "
            "running? (`--url` or serving.url in environments/ENV.yaml)"
        ) from exc
    return response.text


PR_ON = ("rollback", "promote", "both")


PR_ATTEMPTS = 3
PR_RETRY_SECONDS = 5.0


def _local_branch(root: Path, branch: str) -> bool:
    proc = tools.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=root, check=False
    )
    return proc.returncode == 0


def _on_origin(root: Path, branch: str) -> bool:
    proc = tools.run(
        ["git", "ls-remote", "--exit-code", "--heads", "origin", branch], cwd=root, check=False
    )
    return proc.returncode == 0


def _has_pull_request(root: Path, branch: str) -> bool:
    """A pull request from ``branch`` exists in any state: open, merged, or closed by a human
    (who must not see it reopened every hour)."""
    listing = ["gh", "pr", "list", "--head", branch, "--state", "all", "--json", "number"]
    return tools.run([*listing, "--jq", "length"], cwd=root).stdout.strip() not in ("", "0")


def _open_pr(root: Path, proposal, attempts: int = PR_ATTEMPTS, wait: float = PR_RETRY_SECONDS):
    """`gh pr create` for a pushed branch, retried: a transient API error must not leave a
    pushed rollback branch without its pull request."""
    from mlops.promotion import gitops

    command = gitops.pr_command(proposal)
    for attempt in range(1, attempts + 1):
        proc = tools.run(command, cwd=root, check=False)
        if proc.returncode == 0:
            return dataclasses.replace(proposal, pushed=True, pr_url=proc.stdout.strip())
        if attempt < attempts:
            time.sleep(wait * attempt)
    raise CanaryError(
        f"pushed {proposal.branch}, but `gh pr create` failed {attempts} times "
        f"({(proc.stderr or proc.stdout).strip()}); the next `mlops canary --open-pr` opens it, "
        f"or run: {shlex.join(command)}"
    )


def _push_and_open(root: Path, proposal):
    """Push the proposal's branch and open its pull request (retried, see ``_open_pr``)."""
    from mlops.promotion import gitops

    tools.git("push", "-q", "-u", "origin", proposal.branch, cwd=root)
    pushed = dataclasses.replace(proposal, pushed=True)
    if not gitops.gh_ready():
        return dataclasses.replace(pushed, next_command=shlex.join(gitops.pr_command(pushed)))
    return _open_pr(root, pushed)


def _finish_earlier(root: Path, branch: str):
    """An earlier run made ``branch``. If it reached origin but its pull request never opened
    (`gh pr create` failed after the push), open it now; otherwise there is nothing to do."""
    from mlops.promotion import gitops

    if not (_on_origin(root, branch) and gitops.gh_ready()) or _has_pull_request(root, branch):
        return None
    tools.git("fetch", "-q", "origin", f"refs/heads/{branch}", cwd=root)
    subject, _, body = tools.git(
        "log", "-1", "--format=%s%x00%b", "FETCH_HEAD", cwd=root
    ).partition("\0")
    commit = tools.git("rev-parse", "FETCH_HEAD", cwd=root)
    base = gitops.current_branch(root)
    proposal = gitops.Proposal(branch, base, commit, subject, body.strip(), pushed=True)
    return _open_pr(root, proposal)


def propose(
    root: Path,
    analysis: Analysis,
    deployment: models_file.Deployment,
    model: str | None = None,
    push: bool = True,
    pr_on: str = "both",
):
    """Make the verdict a Git change the way `mlops promote` / `mlops rollback` do (issue 4's
    ``promotion.promote``): a branch, one commit of models.yaml, the same checks as the PR
    check, then (``push``) a push and `gh pr create` (retried). Returns the proposal, or None
    when the verdict asks for no change or the change was proposed already. Idempotent: a
    branch an earlier run pushed without its pull request gets the pull request."""
    from mlops.promotion import promote

    if analysis.verdict == "hold" or (pr_on != "both" and analysis.verdict != pr_on):
        return None
    reasons = "\n".join(f"- {r}" for r in analysis.reasons)
    canary_version = analysis.canary.version
    if analysis.verdict == "promote":
        branch = f"promote/{analysis.env}-{canary_version}"
    else:
        branch = f"rollback/{analysis.env}-canary-{canary_version}"
    if _local_branch(root, branch) or _on_origin(root, branch):
        return _finish_earlier(root, branch) if push else None
    if analysis.verdict == "promote":
        proposal = promote.promote(
            root,
            analysis.env,
            canary_version,
            push=False,
            model=model,
            message=f"mlops canary: the canary passed.\n\n{reasons}",
        )
    else:
        text = models_file.with_deployment(
            (root / paths.MODELS_FILE).read_text(),
            analysis.env,
            models_file.Deployment(deployment.stable, None),
            model,
        )
        subject = (
            f"rollback {analysis.env}: drop canary {canary_version} "
            f"(back to {deployment.stable.version} only)"
        )
        body = (
            f"mlops canary: verdict rollback for {canary_version} at {analysis.traffic} %."
            f"\n\n{reasons}"
        )
        proposal = promote.propose(root, analysis.env, text, subject, body, branch, False)
    return _push_and_open(root, proposal) if push else proposal


def run(
    root: str | Path = ".",
    env: str = "production",
    *,
    url: str | None = None,
    open_pr: bool = False,
    model: str | None = None,
    push: bool = True,
    pr_on: str = "both",
    metrics_text: str | None = None,
):
    """Scrape the server, analyse, and with ``open_pr`` propose the change the verdict asks for
    (returns ``(analysis, gitops.Proposal | None)``)."""
    root = Path(root)
    environment = environments.load(env, root)
    models = models_file.load(root / paths.MODELS_FILE)
    deployment = models.deployment(env, model)
    if deployment is None:
        raise NotFoundError(f"{paths.MODELS_FILE}: nothing is deployed to {env!r}")
    text = metrics_text if metrics_text is not None else scrape(url or environment.serving.url)
    analysis = analyze(environment, deployment, text)
    proposal = propose(root, analysis, deployment, model, push, pr_on) if open_pr else None
    return analysis, proposal
