"""Canary analysis on metric text produced by real prometheus_client registries."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from mlops.formats import environments, models_file
from mlops.monitoring import canary, canary_pr, canary_run
from mlops.monitoring.sequential import Moments
from tests.conftest import git, mlops

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0)
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
STABLE, CANARY = "v1.0.0", "v1.1.0"
DIGEST_A, DIGEST_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
DEPLOYMENT = models_file.Deployment(
    models_file.Pin(STABLE, DIGEST_A), models_file.Canary(CANARY, DIGEST_B, 10)
)


def traffic(registry, version, route, *, ok, errors=0, latency_ms=5.0, score_mean=0.3, seed=0):
    """Record what the server records per request, with the label names it uses."""
    rng = np.random.default_rng(seed)
    requests, latency, score = registry
    requests.labels(version, route, "200").inc(ok)
    if errors:
        requests.labels(version, route, "500").inc(errors)
    requests.labels(version, route, "422").inc(3)  # client mistakes never count as errors
    for value in rng.gamma(4.0, latency_ms / 4000.0, ok + errors):
        latency.labels(version, route).observe(float(value))
    for value in np.clip(rng.normal(score_mean, 0.15, ok), 0, 1):
        score.labels(version, route).observe(float(value))


def metrics_text(stable: dict, canary_: dict) -> str:
    reg = CollectorRegistry()
    families = (
        Counter("mlops_requests_total", "requests", ["version", "route", "status"], registry=reg),
        Histogram(
            "mlops_request_latency_seconds",
            "latency",
            ["version", "route"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        ),
        Histogram(
            "mlops_prediction_score",
            "scores",
            ["version", "route"],
            buckets=SCORE_BUCKETS,
            registry=reg,
        ),
    )
    traffic(families, STABLE, "stable", seed=1, **stable)
    traffic(families, CANARY, "canary", seed=2, **canary_)
    # an old canary's series must not be mistaken for the current one
    traffic(families, "v0.9.0", "canary", ok=50, errors=40, latency_ms=900, seed=3)
    return generate_latest(reg).decode()


@pytest.fixture(scope="module")
def production():
    from tests.conftest import ROOT

    return environments.load("production", ROOT)  # abort_on: p99_ms 50; alpha 0.05


def test_quantile_interpolates_like_prometheus():
    cumulative = [(0.1, 10.0), (0.2, 20.0), (float("inf"), 20.0)]
    assert canary.quantile(0.5, cumulative) == pytest.approx(0.1)
    assert canary.quantile(0.75, cumulative) == pytest.approx(0.15)
    assert canary.quantile(0.99, [(0.1, 1.0), (float("inf"), 2.0)]) == pytest.approx(0.1)


def _test(result, name):
    return next(t for t in result.tests if t.name == name)


def test_healthy_canary_with_enough_traffic_is_promoted(production):
    text = metrics_text({"ok": 2000}, {"ok": 600})
    result = canary.analyze(production, DEPLOYMENT, text)
    assert result.verdict == "promote", result.reasons
    assert result.canary.requests == 603 and result.canary.errors == 0
    assert result.canary.p99_ms < 50
    errors, shift = _test(result, "error_rate"), _test(result, "prediction_shift")
    assert errors.upper < production.canary.min_effect["error_rate"]
    assert -0.25 < shift.lower < shift.difference < shift.upper < 0.25
    assert "live_error not compared: outcomes were not read" in result.notes


def test_failing_canary_is_rolled_back_with_its_statistics(production):
    text = metrics_text({"ok": 2000, "errors": 2}, {"ok": 300, "errors": 30})
    result = canary.analyze(production, DEPLOYMENT, text)
    assert result.verdict == "rollback" and result.exit_code == 1
    assert result.reasons[0].startswith("error_rate: canary - stable = +0.08991")
    errors = _test(result, "error_rate")
    assert errors.lower > 0 and errors.evidence >= 1 / production.canary.alpha
    shown = canary.markdown(result)
    assert "**roll back**" in shown and "| error_rate (share of requests) |" in shown
    assert "What would change it" in shown and "cannot reverse" in shown


def test_slow_canary_and_shifted_scores_are_rolled_back(production):
    text = metrics_text({"ok": 2000}, {"ok": 400, "latency_ms": 200, "score_mean": 0.7})
    result = canary.analyze(production, DEPLOYMENT, text)
    assert result.verdict == "rollback"
    assert [c.name for c in result.checks if c.blamed] == ["p99_ms"]
    shift = _test(result, "prediction_shift")
    assert shift.verdict == "rollback" and shift.lower > 0.25


def test_a_small_difference_keeps_watching_and_says_how_long(production):
    text = metrics_text({"ok": 2000, "errors": 10}, {"ok": 600, "errors": 5})
    result = canary.analyze(production, DEPLOYMENT, text)
    assert result.verdict == "watch" and result.exit_code == 0
    errors = _test(result, "error_rate")
    assert errors.lower < 0 < errors.upper and "more requests" in errors.change
    assert "**keep watching**" in canary.markdown(result)


def test_too_little_canary_traffic_keeps_watching(production):
    result = canary.analyze(production, DEPLOYMENT, metrics_text({"ok": 2000}, {"ok": 20}))
    assert result.verdict == "watch" and "waiting for 100" in result.reasons[0]


def test_an_environment_wide_slowdown_does_not_blame_the_canary(production):
    text = metrics_text({"ok": 2000, "latency_ms": 300}, {"ok": 600, "latency_ms": 300})
    result = canary.analyze(production, DEPLOYMENT, text)
    assert result.verdict == "watch" and "the stable breaches it too" in result.reasons[-1]


def test_the_live_error_joins_the_verdict(production):
    text = metrics_text({"ok": 2000}, {"ok": 600})
    worse = (Moments.bernoulli(120, 400), Moments.bernoulli(200, 2000))
    result = canary.analyze(production, DEPLOYMENT, text, (worse, "from outcomes"))
    assert result.verdict == "rollback"
    assert result.reasons[0].startswith("live_error: canary - stable = +0.2")


def test_no_canary_is_a_clear_error(production):
    with pytest.raises(canary.CanaryError, match="no canary to analyse"):
        canary.analyze(production, models_file.Deployment(DEPLOYMENT.stable), "")


def _with_canary(repo):
    """v1.0.0 stable, v1.1.0 (same artifact, tagged again) as a 10 % canary, committed."""
    from tests.monitoring.conftest import MODEL, register_and_deploy

    digest = register_and_deploy(repo)
    git(
        repo,
        "tag",
        "-a",
        f"{MODEL}@{CANARY}",
        "-m",
        git(repo, "tag", "-l", "--format=%(contents)", f"{MODEL}@{STABLE}"),
    )
    deployment = models_file.Deployment(
        models_file.Pin(STABLE, digest), models_file.Canary(CANARY, digest, 10)
    )
    text = (repo / "models.yaml").read_text()
    (repo / "models.yaml").write_text(models_file.with_deployment(text, "production", deployment))
    git(repo, "commit", "-qam", "promote production: canary v1.1.0 at 10%")
    return deployment


def test_open_pr_proposes_the_rollback_as_a_commit(repo):
    deployment = _with_canary(repo)
    head = git(repo, "rev-parse", "HEAD")
    metrics = metrics_text({"ok": 2000}, {"ok": 300, "errors": 30})
    analysis, proposal = canary_run.run(
        repo, "production", open_pr=True, push=False, metrics_text=metrics
    )
    assert analysis.verdict == "rollback"
    assert proposal.branch == "rollback/production-canary-v1.1.0"
    assert git(repo, "rev-parse", f"{proposal.branch}^") == head
    after = models_file.parse(git(repo, "show", f"{proposal.branch}:models.yaml"))
    assert after.deployment("production") == models_file.Deployment(deployment.stable)
    assert "Desired deployed state" in git(repo, "show", f"{proposal.branch}:models.yaml")
    message = git(repo, "log", "-1", "--format=%B", proposal.branch)
    assert message.startswith("rollback production: drop canary v1.1.0") and "error_rate" in message
    # a second scheduled run does not propose it again
    git(repo, "switch", "-q", "main")
    assert (
        canary_run.run(repo, "production", open_pr=True, push=False, metrics_text=metrics)[1]
        is None
    )


def test_pr_on_rollback_leaves_a_passing_canary_alone(repo):
    _with_canary(repo)
    metrics = metrics_text({"ok": 2000}, {"ok": 600})
    analysis, proposal = canary_run.run(
        repo, "production", open_pr=True, push=False, pr_on="rollback", metrics_text=metrics
    )
    assert analysis.verdict == "promote" and proposal is None
    assert git(repo, "branch", "--list", "promote/*") == ""


def test_cli_reports_an_unreachable_server(repo):
    text = (repo / "models.yaml").read_text()
    (repo / "models.yaml").write_text(models_file.with_deployment(text, "production", DEPLOYMENT))
    proc = mlops(
        repo, "canary", "--env", "production", "--url", "http://127.0.0.1:9", "--json", check=False
    )
    assert proc.returncode == 2 and "cannot read http://127.0.0.1:9/metrics" in proc.stderr
    assert json.dumps  # the JSON form is exercised end to end in test_e2e


FAKE_GH = """#!/usr/bin/env python3
# gh for one repository: `pr create` fails while GH_FAILURES > 0 (one per call), `pr list`
# answers from the PRs it created; every call is recorded.
import json, os, sys
state_file = os.environ["GH_STATE"]
state = json.load(open(state_file)) if os.path.exists(state_file) else {"calls": [], "prs": []}
args = sys.argv[1:]
state["calls"].append(args)
code, out = 0, ""
if args[:2] == ["pr", "create"]:
    if state.setdefault("failures", int(os.environ.get("GH_FAILURES", "0"))) > 0:
        state["failures"] -= 1
        code = 1
        sys.stderr.write("HTTP 502: Bad Gateway\\n")
    else:
        head = args[args.index("--head") + 1]
        state["prs"].append(head)
        out = f"https://github.com/team/churn/pull/{len(state['prs'])}"
elif args[:2] == ["pr", "list"]:
    head = args[args.index("--head") + 1]
    out = str(state["prs"].count(head))
json.dump(state, open(state_file, "w"))
print(out)
sys.exit(code)
"""


@pytest.fixture
def gh(tmp_path, monkeypatch):
    """A fake `gh` on PATH; returns a function reading its state (calls, PRs)."""
    bindir = tmp_path / "gh-bin"
    bindir.mkdir()
    (bindir / "gh").write_text(FAKE_GH)
    (bindir / "gh").chmod(0o755)
    state = tmp_path / "gh.json"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GH_STATE", str(state))
    monkeypatch.setattr(canary_pr, "PR_RETRY_SECONDS", 0.0)
    return lambda: json.loads(state.read_text())


def _with_origin(repo, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    return origin


def _creates(state):
    return [c for c in state["calls"] if c[:2] == ["pr", "create"]]


def test_a_pushed_rollback_whose_pr_failed_gets_it_on_the_next_run(repo, tmp_path, gh, monkeypatch):
    _with_canary(repo)
    origin = _with_origin(repo, tmp_path)
    metrics = metrics_text({"ok": 2000}, {"ok": 300, "errors": 30})
    branch = "rollback/production-canary-v1.1.0"
    monkeypatch.setenv("GH_FAILURES", str(canary_pr.PR_ATTEMPTS))
    with pytest.raises(canary.CanaryError, match=r"failed 3 times.*next `mlops canary --open-pr`"):
        canary_run.run(repo, "production", open_pr=True, metrics_text=metrics)
    assert git(origin, "branch", "--list", branch).strip() == branch  # pushed, PR not opened
    assert len(_creates(gh())) == canary_pr.PR_ATTEMPTS and gh()["prs"] == []

    # the next scheduled run (a fresh checkout of main) opens the missing pull request
    git(repo, "switch", "-q", "main")
    git(repo, "branch", "-q", "-D", branch)
    _, proposal = canary_run.run(repo, "production", open_pr=True, metrics_text=metrics)
    assert proposal.pr_url == "https://github.com/team/churn/pull/1"
    create = _creates(gh())[-1]
    assert create[create.index("--head") + 1] == branch
    assert create[create.index("--base") + 1] == "main"
    assert create[create.index("--title") + 1].startswith("rollback production: drop canary")
    assert "error_rate" in create[create.index("--body") + 1]

    # and the one after that does nothing: the pull request exists
    assert canary_run.run(repo, "production", open_pr=True, metrics_text=metrics)[1] is None
    assert len(_creates(gh())) == canary_pr.PR_ATTEMPTS + 1


def test_a_failing_pr_create_is_retried_in_the_same_run(repo, tmp_path, gh, monkeypatch):
    _with_canary(repo)
    _with_origin(repo, tmp_path)
    monkeypatch.setenv("GH_FAILURES", "1")
    metrics = metrics_text({"ok": 2000}, {"ok": 300, "errors": 30})
    _, proposal = canary_run.run(repo, "production", open_pr=True, metrics_text=metrics)
    assert proposal.pushed and proposal.pr_url.endswith("/pull/1")
    assert len(_creates(gh())) == 2


def test_the_rollback_pr_carries_the_statistics_and_one_waits_per_environment(repo, tmp_path):
    _with_canary(repo)
    origin = _with_origin(repo, tmp_path)
    git(repo, "push", "-q", "origin", "main")
    git(repo, "fetch", "-q", "origin")
    # an earlier verdict for production, pushed and not merged: its pull request is open
    git(repo, "switch", "-q", "-c", "rollback/production-canary-v0.9.0")
    git(repo, "commit", "-q", "--allow-empty", "-m", "rollback production: drop canary v0.9.0")
    git(repo, "push", "-q", "origin", "rollback/production-canary-v0.9.0")
    git(repo, "switch", "-q", "main")
    metrics = metrics_text({"ok": 2000}, {"ok": 300, "errors": 30})
    analysis, proposal = canary_run.run(repo, "production", open_pr=True, metrics_text=metrics)
    assert analysis.verdict == "rollback" and proposal is None
    assert "rollback/production-canary-v0.9.0 is still open" in analysis.notes[-1]
    assert "rollback/production-canary-v1.1.0" not in git(origin, "branch", "--list")

    # once that one is merged, the new verdict becomes a pull request with its statistics
    git(repo, "merge", "-q", "--no-ff", "rollback/production-canary-v0.9.0", "-m", "Merge #1")
    git(repo, "push", "-q", "origin", "main")
    git(repo, "fetch", "-q", "origin")
    analysis, proposal = canary_run.run(repo, "production", open_pr=True, metrics_text=metrics)
    assert proposal.pushed and proposal.branch == "rollback/production-canary-v1.1.0"
    assert "gh pr create" in proposal.next_command  # no gh here: the exact command to run
    body = git(origin, "log", "-1", "--format=%b", proposal.branch)
    assert "| error_rate (share of requests) |" in body and "evidence (needs)" in body
    assert "What would change it" in body
