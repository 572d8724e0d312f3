"""The rollout part of `make demo`: a shadow declared by a pull request, the candidate replayed on
logged traffic in its promotion plan, a gate tried in dry run, and a canary of a worse model
rolled back by the sequential test through a pull request carrying its statistics.

Each step checks what it claims (the shadow answered nobody, the plan holds the replay, the
dry-run gate would block and did not, the canary was rolled back); otherwise the run stops with
``StoryError`` saying why.
"""

from __future__ import annotations

import json
from collections import Counter
from math import floor

from mlops.core import paths
from mlops.demos import feedback, sandbox, traffic
from mlops.demos.feedback import StoryError
from mlops.demos.loop import (
    DRIFT,
    ENV,
    LOG_DIR,
    Story,
    _labelled_round,
    _outcomes_and_performance,
    _sizes,
    moved_round,
)
from mlops.formats import predlog
from mlops.formats.contract import load_contract
from mlops.model import registry

CANARY_TRAFFIC = 50  # percent: the most production's canary.max_traffic allows
LOOK_ROWS = 500  # labelled rows per look at the canary (50 requests of 10 rows)
LOOK_BATCH = 10  # rows per request: the canary's min_requests counts requests
MAX_LOOKS = 12


def _fresh(
    sb: sandbox.Sandbox, story: Story, rows: int, seed: int, *, moved: bool = False
) -> traffic.Labelled:
    """Drifted traffic of rows no earlier round used: the next rows of the moved population
    (``moved``: a live figure compared with the rounds before), else drawn from every row left
    (the canary's looks compare two versions on the same traffic, whatever its mix)."""
    contract = load_contract(sb.work)
    if moved:
        sent = moved_round(story, rows)
    else:
        sent = traffic.labelled(story.table, contract, rows, seed=seed, drift=DRIFT, mirror=True,
                                exclude=story.used_rows)  # fmt: skip
        if sent.records:
            story.used_rows = story.used_rows.append(sent.rows)
    if not sent.records:
        raise StoryError(
            f"{contract.data} has no labelled row left that earlier rounds did not use "
            f"({0 if story.used_rows is None else len(story.used_rows):,} used of "
            f"{len(story.table):,}): the story needs a larger "
            "table (each round sends rows no model was judged on before)"
        )
    return sent


def _records(sb: sandbox.Sandbox, prefix: str) -> list[dict]:
    log_dir = sb.server_clone(ENV) / predlog.DEFAULT_DIR
    return [r for r in predlog.read(log_dir, ENV) if str(r.get("request_id")).startswith(prefix)]


def _check_plan(sb: sandbox.Sandbox) -> str:
    """promote.yml's check, reading production's prediction log and the outcome store."""
    return sandbox.check(sb, "--log-dir", str(LOG_DIR))


# ---------------------------------------------------------------------------------- the shadow


def shadow(sb: sandbox.Sandbox, story: Story, version: str) -> None:
    """(a) ``version`` as production's shadow by a pull request; drifted traffic answered by
    the stable alone; `mlops performance` shows the shadow beside it on the same requests."""
    from mlops.monitoring.drift import stable_version

    stable = stable_version(sb.work, ENV).version
    branch = sandbox.promote(
        sb, ENV, version, shadow=100, message=f"{version} in the shadow of {stable}"
    )
    sandbox.merge(sb, branch)
    sandbox.deploy(sb)
    sandbox.step(
        sb.log,
        f"Drifted traffic to production: {stable} answers, {version} scores "
        "the same requests off the answer's path",
    )
    sent = _fresh(sb, story, _sizes(story.table)["shadow"], seed=9, moved=True)
    since = _labelled_round(sb, "shadowed", sent)
    logged = _records(sb, "shadowed-")
    answered = Counter((r["model_version"], r["route"]) for r in logged)
    shadowed = sum(1 for r in logged if (r.get("shadow") or {}).get("model_version") == version)
    if set(answered) != {(stable, "stable")} or not shadowed:
        raise StoryError(
            f"the shadow touched the answers or was not scored: answered by {dict(answered)}, "
            f"{shadowed} records with {version}'s shadow output"
        )
    sb.log(
        f"   every answer came from {stable} (stable); {version}'s output is logged beside "
        f"{shadowed:,} of {len(logged):,} records under the same request id"
    )
    _outcomes_and_performance(sb, "shadowed", since)
    sb.log(f"   {_shadow_line(sb, stable, version)}")
    _commit_outcomes(sb, "outcomes: labels of the shadowed traffic")


def _shadow_line(sb: sandbox.Sandbox, stable: str, version: str) -> str:
    report = json.loads((sb.work / "reports" / "performance" / "performance.json").read_text())
    groups = {(g["version"], g["route"]): g for g in report["groups"] if g["metrics"]}
    if (version, "shadow") not in groups or (stable, "stable") not in groups:
        raise StoryError(f"mlops performance did not report {version}'s shadow beside {stable}")
    measured = groups[(stable, "stable")]["metrics"]
    metric = next((m for m in report.get("thresholds", {}) if m in measured), next(iter(measured)))
    shown = [
        f"{v} ({route}) {groups[(v, route)]['metrics'][metric]['value']:.4f}"
        for v, route in ((stable, "stable"), (version, "shadow"))
    ]
    return f"live {metric} on the same labelled requests: " + " vs ".join(shown)


# ------------------------------------------------------------------ promotion with the replay


def promote_with_replay(sb: sandbox.Sandbox, version: str) -> None:
    """(b) The shadow promoted: the plan replays it on production's logged requests and, where
    outcomes arrived, compares both models on the same requests."""
    sandbox.step(sb.log, f"Promote the shadow {version} to production's stable")
    sandbox.sh(sb, "mlops", "promote", ENV, version, "--message", "the shadow did better")
    branch = sandbox.sh(sb, "git", "branch", "--show-current", show=False)
    plan = _check_plan(sb)
    if f"#### Replay of {version} on {ENV}'s traffic" not in plan or "On the same" not in plan:
        raise StoryError(f"the promotion plan of {version} shows no replay with outcomes")
    sandbox.merge(sb, branch)
    sandbox.deploy(sb)


# ------------------------------------------------------------------- a gate tried in dry run


def trial_gate(sb: sandbox.Sandbox, worse: str) -> None:
    """(d) A policy pull request: production tries a model-size budget in dry run (set just
    below ``worse``'s size, so the next plan has something to show)."""
    from ruamel.yaml import YAML

    model = load_contract(sb.work).model
    size = registry.get_version(sb.work, model, worse).metadata["serving"]["model_mb"]
    budget = max(floor(size * 80) / 100, 0.01)
    sandbox.step(
        sb.log,
        f"A policy pull request: production tries a model-size budget of "
        f"{budget:g} MB in dry run (computed and shown, never blocking)",
    )
    sandbox.sh(sb, "git", "switch", "-q", "-c", "policy/production-size-budget")
    path = sb.work / paths.ENVIRONMENTS / f"{ENV}.yaml"
    y = YAML()
    doc = y.load(path.read_text())
    doc["gates"]["max_model_mb"] = budget
    doc["gates"]["mode"] = {"max_model_mb": "dry_run"}
    with open(path, "w") as handle:
        y.dump(doc, handle)
    sandbox.sh(sb, "git", "diff", "--", str(path.relative_to(sb.work)))
    sandbox.sh(sb, "git", "commit", "-qam", f"production: try max_model_mb {budget:g} in dry run")
    sandbox.check(sb)
    sandbox.merge(sb, "policy/production-size-budget")


# ----------------------------------------------------------------- a canary judged and reverted


def canary_rolled_back(sb: sandbox.Sandbox, story: Story, worse: str) -> None:
    """(c) ``worse`` as a canary; looks after every batch until the sequential test says roll
    back; the verdict becomes a pull request; merged, the server is back on its stable."""
    sandbox.step(
        sb.log,
        f"Promote {worse} to production as a {CANARY_TRAFFIC}% canary: a "
        "deliberately worse model (reused: trained before the population moved)",
    )
    before = sandbox.sh(sb, "git", "branch", "--show-current", show=False)
    message = "a model trained before the population moved"
    sandbox.sh(sb, "mlops", "promote", ENV, worse, "--canary", str(CANARY_TRAFFIC),
               "--message", message, codes=(0, 1))  # fmt: skip
    branch = sandbox.sh(sb, "git", "branch", "--show-current", show=False)
    if branch == before:  # refused (exit 1): nothing committed, nothing served
        sb.log(
            f"   production's gates already refuse {worse} against the version it serves (the "
            "reason above), before any request reaches it; a canary needs a candidate the "
            "gates let through, so this table's story has no canary round"
        )
        return
    plan = _check_plan(sb)
    if "would block (dry run)" not in plan:
        raise StoryError("the dry-run gate did not show `would block (dry run)` in the plan")
    sb.log("   the dry-run gate would block, and did not: the check passed")
    sandbox.merge(sb, branch)
    sandbox.deploy(sb)
    analysis = _watch(sb, story)
    stable = analysis.stable.version
    sandbox.step(
        sb.log,
        "monitor.yml: mlops canary --open-pr makes the verdict a pull request "
        "carrying the statistics",
    )
    sandbox.sh(
        sb, "mlops", "canary", "--env", ENV, "--open-pr", "--log-dir", str(LOG_DIR), codes=(1,)
    )
    verdict = sandbox.sh(sb, "git", "branch", "--show-current", show=False)
    sandbox.merge(sb, verdict)
    sandbox.deploy(sb)
    view = sb.servers[ENV].version()
    if view["canary"] or view["stable"]["version"] != stable:
        raise StoryError(f"production is not back on {stable} alone: {view}")
    sb.log(
        f"   production serves {stable} alone again ({view['sync']}, commit {view['commit'][:10]})"
    )


def _watch(sb: sandbox.Sandbox, story: Story):
    """Labelled drifted traffic in looks of ``LOOK_ROWS``; after each, the outcomes are ingested
    and the canary judged (in process, as monitor.yml's hourly run would); stop at rollback."""
    from mlops.feedback import outcomes
    from mlops.monitoring import canary, canary_run
    from mlops.monitoring.sequential import ROLLBACK

    sandbox.step(
        sb.log,
        f"Drifted traffic with its outcomes; the sequential test judges the "
        f"canary after every {LOOK_ROWS} rows ({LOOK_ROWS // LOOK_BATCH} requests)",
    )
    log_dir, target = sb.server_clone(ENV) / predlog.DEFAULT_DIR, load_contract(sb.work).target
    for look in range(1, MAX_LOOKS + 1):
        sent = _fresh(sb, story, LOOK_ROWS, seed=100 + look)
        prefix = f"canary{look}"
        sent_outcomes = feedback.send(sb.servers[ENV].url, sent, prefix, batch=LOOK_BATCH)
        _wait_for(sb, f"{prefix}-", len(sent_outcomes))
        file = feedback.write_outcomes(sent_outcomes, target, sb.root / "labels" / f"{prefix}.csv")
        outcomes.ingest(sb.work, file, ENV, dvc_add=False, log_dir=log_dir)
        analysis, _ = canary_run.run(sb.work, ENV, log_dir=log_dir)
        sb.log(
            f"   look {look}: {look * LOOK_ROWS:,} rows, {_tests(analysis)} -> "
            f"{canary.VERDICT_WORDS[analysis.verdict]}"
        )
        if analysis.verdict == ROLLBACK:
            sandbox.sh(sb, "dvc", "add", "outcomes", show=False)  # the looks' outcomes too
            _commit_outcomes(sb, "outcomes: labels of the canary's traffic")
            return analysis
    raise StoryError(
        f"the sequential test did not roll the worse canary back after {MAX_LOOKS} looks "
        f"({MAX_LOOKS * LOOK_ROWS:,} rows): {'; '.join(analysis.reasons)}"
    )


def _tests(analysis) -> str:
    shown = [
        f"{t.name} {t.difference:+.3f} [{t.lower:+.3f}, {t.upper:+.3f}]"
        for t in analysis.tests
        if t.difference is not None and t.lower is not None
    ]
    return ", ".join(shown) or "not enough requests yet"


def _wait_for(sb: sandbox.Sandbox, prefix: str, rows: int, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while len(_records(sb, prefix)) < rows:
        if time.monotonic() > deadline:
            raise StoryError(f"the server logged fewer than {rows} records of {prefix}* in time")
        time.sleep(0.1)


def _commit_outcomes(sb: sandbox.Sandbox, message: str) -> None:
    """The outcomes stored so far, pinned (outcomes.dvc) on main and pushed, as a label
    pipeline would: a pull request branches from a clean main."""
    sandbox.sh(sb, "git", "add", "outcomes.dvc", show=False)
    sandbox.sh(sb, "git", "commit", "-qm", message, show=False)
    sandbox.sh(sb, "dvc", "push", "outcomes.dvc", show=False)
    sandbox.sh(sb, "git", "push", "-q", "origin", "main", show=False)
