"""`make demo`: the whole GitOps loop in a sandbox, told as a story a newcomer can follow.

retrain on a branch -> merge -> register v1.0.0 -> retrain -> v1.1.0 -> promote staging ->
deploy -> production canary 10 % -> deploy -> revert -> deploy -> audit -> status -> outcomes
of normal traffic: live performance -> the population moves: drifted traffic, drift report,
its outcomes, live performance below the threshold -> `mlops data refresh` and a retrain PR ->
register v1.2.0 -> promote it to staging -> v1.2.0 as production's shadow (a pull request), scored
beside the stable on drifted traffic -> promoted, its plan replaying it on the logged requests ->
fresh drifted traffic and its outcomes: live performance recovered -> a gate tried in dry run ->
a canary of a worse model (v1.1.0, reused) rolled back by the sequential test through a pull
request (``demo_rollouts``). Live predictions are shown after deploys. Each step is numbered.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from mlops.core import paths
from mlops.demos import feedback, sandbox, traffic
from mlops.demos.drift import records, report_drift, wait_for_log
from mlops.feedback import performance
from mlops.formats import predlog
from mlops.formats.contract import Contract, load_contract
from mlops.model import registry

SANDBOX = "sandbox"
# Two retrains per estimator `train.estimator` may pick: each changes the model, so each merge
# registers a new version (v1.0.0, then v1.1.0) whatever table and estimator were adopted.
RETRAINS = {
    "hist_gradient_boosting": (
        ({"learning_rate": 0.1}, "learning rate 0.1"),
        ({"max_leaf_nodes": 15}, "smaller trees"),
    ),
    "random_forest": (
        ({"n_estimators": 150}, "150 trees"),
        ({"max_depth": 8}, "shallower trees"),
    ),
    "linear": (
        ({"regularization": 0.5}, "less regularization"),
        ({"regularization": 2.0}, "more regularization"),
    ),
}


def retrains(work: Path) -> list[tuple[dict, str]]:
    """The two retrains for the estimator params.yaml picks: (params changes, message)."""
    import yaml

    estimator = yaml.safe_load((work / "params.yaml").read_text())["train"]["estimator"]
    return [
        ({f"train.{estimator}.{k}": v for k, v in changes.items()}, message)
        for changes, message in RETRAINS[estimator]
    ]


def show_predictions(sb: sandbox.Sandbox, requests: int = 100) -> None:
    """Send single-row requests made from the table to every server; count which version
    answered each, and show one answer."""
    customers = records(sb.work, requests, seed=11)
    for env, server in sb.servers.items():
        answered: Counter = Counter()
        for i, customer in enumerate(customers):
            body = server.predict([customer], request_id=f"demo-{env}-{i}")
            answered[(body["model_version"], body["route"])] += 1
        shares = ", ".join(f"{v} ({route}) {n}" for (v, route), n in sorted(answered.items()))
        sb.log(f"   {env:<10} {requests} requests answered by: {shares}")
        sb.log(f"   {'':<10} e.g. {_one_answer(body)}")


def _one_answer(body: dict) -> str:
    """The last answer, per task: class and probability, class probabilities, or a value."""
    shown = {k: body[k] for k in ("predictions", "probabilities", "classes") if k in body}
    return ", ".join(f"{k}: {_rounded(v)}" for k, v in shown.items())


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def deploy_and_show(sb: sandbox.Sandbox) -> None:
    sandbox.deploy(sb)
    show_predictions(sb)


# ---------------------------------------------------------------------------- closing the loop

ENV = "production"
DRIFT = 1.0  # numeric features: mirrored, then shifted by this many standard deviations
LOG_DIR = Path("..") / "servers" / ENV / predlog.DEFAULT_DIR  # the server's log, from work/


@dataclass
class Story:
    """What the closing part measured: the live figure of each phase, the rows drifted traffic
    was made of (fresh traffic later uses others)."""

    figures: dict[str, feedback.Figure] = field(default_factory=dict)
    rounds: int = 0  # rounds of fresh traffic after the first one, while within noise
    used_up: bool = False  # the moved population ran out before the verdict was decisive
    drifted_rows: pd.Index | None = None
    table: pd.DataFrame | None = None  # before the refresh: fresh traffic is drawn from it too
    used_rows: pd.Index | None = None  # rows drifted traffic was made of so far (never reused)
    moved: pd.Index | None = None  # the moved population's rows, in the order rounds take them
    contract: Contract | None = None


def _sizes(table: pd.DataFrame) -> dict[str, int]:
    """Rows per phase: enough for a verdict, a labelled share that lets a retrain learn the new
    population, little enough to keep the demo short, and on a table of a few thousand rows
    enough left unused for the canary's looks (rounds never reuse a row)."""
    n = len(table)
    fresh = min(2000, n // 8)  # each round after the retrain: the shadow's, then the fresh one
    return {"normal": 600, "drifted": min(4000, n // 4), "shadow": fresh, "fresh": fresh}


def _labelled_round(sb: sandbox.Sandbox, name: str, sent: traffic.Labelled) -> str:
    """Send ``sent`` to production with request ids ``<name>-N``, wait until the server logged
    it, write the outcome file a label source would deliver; return when sending began."""
    from mlops.monitoring.drift import stable_version

    log_dir = sb.server_clone(ENV) / predlog.DEFAULT_DIR
    version = stable_version(sb.work, ENV).version
    before = sum(1 for r in predlog.read(log_dir, ENV) if r.get("model_version") == version)
    start = datetime.now(UTC).isoformat(timespec="milliseconds")
    outcomes = feedback.send(sb.servers[ENV].url, sent, name)
    wait_for_log(log_dir, ENV, version, before + len(outcomes))
    target = load_contract(sb.work).target
    feedback.write_outcomes(outcomes, target, sb.root / "labels" / f"{name}.csv")
    sb.log(
        f"   {len(outcomes):,} records in {outcomes['request_id'].nunique()} requests "
        f"({name}-0 ...) answered by {version}; their outcomes: ../labels/{name}.csv"
    )
    return start


def _outcomes_and_performance(sb: sandbox.Sandbox, name: str, since: str) -> feedback.Figure:
    """`mlops outcomes ingest` the round's file, then `mlops performance` since it began."""
    sandbox.sh(sb, "mlops", "outcomes", "ingest", f"../labels/{name}.csv", "--env", ENV)
    sandbox.sh(sb, "mlops", "performance", "--env", ENV, "--since", since,
               "--log-dir", str(LOG_DIR), codes=(0, 1))  # fmt: skip
    return feedback.figure(sb.work / "reports" / "performance" / "performance.json")


def live_before_drift(sb: sandbox.Sandbox, story: Story) -> None:
    sandbox.step(
        sb.log, "Outcomes arrive: live performance of production on ordinary traffic "
        "(rows of the holdout split, which the model never trained on)",
    )  # fmt: skip
    table, contract = traffic.workspace_table(sb.work)
    holdout = contract.read_table(sb.work / paths.HOLDOUT)
    sent = traffic.labelled(holdout, contract, _sizes(table)["normal"], seed=11)
    since = _labelled_round(sb, "normal", sent)
    story.figures["before drift"] = _outcomes_and_performance(sb, "normal", since)


def drift_arrives(sb: sandbox.Sandbox, story: Story) -> None:
    sandbox.step(sb.log, "The population moves: production receives drifted traffic; "
                 "mlops drift reads its log")  # fmt: skip
    table, contract = traffic.workspace_table(sb.work)
    story.table, story.contract = table, contract
    story.moved = traffic.moved_population(table, contract, drift=DRIFT, seed=7)
    sent = moved_round(story, _sizes(table)["drifted"])
    story.drifted_rows = sent.rows
    sb.log(
        f"   real rows of {contract.data} whose numeric columns are mirrored within their range "
        f"(the highest value becomes the lowest) and shifted by {DRIFT:g} standard deviation, "
        "rarest categories made more common. Each record's outcome is its row's real "
        "outcome: what the features say about the outcome is no longer what the model learned. "
        f"The moved population is {len(story.moved):,} rows of the table, fixed now; every "
        "round of drifted traffic takes rows of it no round used before."
    )
    since = _labelled_round(sb, "drifted", sent)
    result = report_drift(sb.work, ENV, log_dir=sb.server_clone(ENV) / predlog.DEFAULT_DIR,
                          out_dir=sb.work / "reports" / "drift", echo=sb.log)  # fmt: skip
    sb.log("   drift detected: monitor.yml would open (or update) its monitoring issue"
           if result.exit_code == 1 else "   no drift")  # fmt: skip
    sandbox.step(sb.log, "Outcomes arrive for the drifted traffic: live performance since it began")
    story.figures["under drift"] = _outcomes_and_performance(sb, "drifted", since)
    sb.log(f"   {_verdict(story.figures['under drift'])}")


def moved_round(story: Story, rows: int) -> traffic.Labelled:
    """The next ``rows`` rows of the moved population no round used (none when all are)."""
    sent = traffic.take(story.table, story.contract, story.moved, rows, used=story.used_rows,
                        drift=DRIFT, mirror=True)  # fmt: skip
    story.used_rows = sent.rows if story.used_rows is None else story.used_rows.append(sent.rows)
    return sent


def _verdict(fig: feedback.Figure) -> str:
    if fig.status == performance.BELOW:
        return (f"live {fig.metric} below its threshold beyond noise: monitor.yml would dispatch "
                "retrain.yml (mlops data refresh and a retrain pull request)")  # fmt: skip
    if fig.status == performance.WITHIN_NOISE:
        return (
            f"live {fig.describe()}: below the bar within noise at 95 %, so no alarm "
            "(monitor.yml would not dispatch retrain.yml); the story retrains anyway"
        )
    return f"live {fig.describe()}"


def retrain_on_fresh_data(sb: sandbox.Sandbox) -> str:
    """What retrain.yml and train.yml do, on a branch: refresh, repro, push, merge, register."""
    sandbox.step(sb.log, "retrain.yml: mlops data refresh adds the labelled traffic to the "
                 "table, on branch retrain-3")  # fmt: skip
    sandbox.sh(sb, "git", "switch", "-q", "-c", "retrain-3")
    sandbox.sh(sb, "mlops", "data", "refresh", "--env", ENV, "--log-dir", str(LOG_DIR))
    sandbox.step(sb.log, "train.yml on the retrain pull request: dvc repro, dvc push, the "
                 "metrics against main")  # fmt: skip
    sandbox.sh(sb, "dvc", "repro")
    sandbox.sh(sb, "dvc", "push")
    sandbox.sh(sb, "git", "add", "-A", show=False)
    sandbox.sh(sb, "git", "commit", "-qm", "retrain: data refreshed with labelled production "
               "traffic (live performance)")  # fmt: skip
    sandbox.sh(sb, "dvc", "metrics", "diff", "main", "--targets", paths.METRICS)
    sandbox.merge(sb, "retrain-3")
    sandbox.register(sb)
    model = load_contract(sb.work).model
    return registry.latest(sb.work, model).version


def live_after_retrain(sb: sandbox.Sandbox, story: Story, version: str) -> None:
    sandbox.step(sb.log, f"Fresh drifted traffic (other rows, same change) and its outcomes: "
                 f"live performance of {version}")  # fmt: skip
    # the table before the refresh: rows it appended (or dropped) must not be drifted twice
    size = _sizes(story.table)["fresh"]
    since = _labelled_round(sb, "fresh", moved_round(story, size))
    first = _outcomes_and_performance(sb, "fresh", since)

    def next_round(k: int) -> feedback.Figure | None:
        if len(story.moved.difference(story.used_rows)) < size // 2:
            return None  # too few rows left for a round worth sending
        sent = moved_round(story, size)
        sandbox.step(sb.log, f"Within noise of its bar: more fresh drifted traffic (round {k}) "
                     "and its outcomes, judged with every round since the retrain")  # fmt: skip
        _labelled_round(sb, f"fresh{k}", sent)
        return _outcomes_and_performance(sb, f"fresh{k}", since)

    fig, story.rounds, story.used_up = feedback.settle(first, next_round)
    story.figures["after the retrain"] = fig
    sandbox.sh(sb, "git", "add", "outcomes.dvc", show=False)
    sandbox.sh(sb, "git", "commit", "-qm", "outcomes: labels of production traffic")
    sandbox.sh(sb, "dvc", "push", "outcomes.dvc")
    sandbox.sh(sb, "git", "push", "-q", "origin", "main")


def tell_figures(sb: sandbox.Sandbox, story: Story) -> None:
    sandbox.step(sb.log, "Live performance in production, from outcomes joined to the log")
    for phase, fig in story.figures.items():
        sb.log(f"   {phase:<18} {', '.join(fig.versions) or '-':<8} {fig.describe()}")


def closing_the_loop(sb: sandbox.Sandbox) -> feedback.Undecided | None:
    """The closing part; an undecided live verdict after the retrain is returned (the rest of
    the story still runs), a failed one raises."""
    story = Story()
    live_before_drift(sb, story)
    drift_arrives(sb, story)
    from mlops.demos import rollouts

    version = retrain_on_fresh_data(sb)
    sandbox.merge(sb, sandbox.promote(sb, "staging", version, message="retrained on live traffic"))
    sandbox.deploy(sb)
    rollouts.shadow(sb, story, version)
    rollouts.promote_with_replay(sb, version)
    show_predictions(sb)
    live_after_retrain(sb, story, version)
    tell_figures(sb, story)
    undecided = None
    try:
        sb.log(
            "   "
            + feedback.check_recovered(
                story.figures.get("after the retrain"),
                ENV,
                rounds=story.rounds,
                used_up=story.used_up,
            )
        )
    except feedback.Undecided as exc:  # told now and again at the end, which exits 3
        sb.log(f"   {exc}")
        undecided = exc
    worse = "v1.1.0"  # trained before the population moved: worse on today's traffic
    rollouts.trial_gate(sb, worse)
    rollouts.canary_rolled_back(sb, story, worse)
    return undecided


def first_version_gates(sb: sandbox.Sandbox, version: str = "v1.0.0") -> None:
    """Stop before the first promotion when the first version cannot pass an environment's
    gates, naming each gate to revisit (the bar adopt wrote may not suit the table)."""
    from mlops.formats import environments
    from mlops.quality import gates

    results = gates.Results.from_metadata(
        registry.get_version(sb.work, load_contract(sb.work).model, version).metadata
    )
    failed = [
        f"environments/{name}.yaml gates.{g.gate}.{g.metric}: {g.threshold:g}, "
        f"{version} has {'none' if g.value is None else f'{g.value:.4g}'}"
        for name in ("staging", "production")
        for g in gates.check(environments.load(name, sb.work), results)
        if not g.passed
    ]
    if failed:
        raise feedback.StoryError(
            f"{version} cannot be promoted: it fails these gates\n  " + "\n  ".join(failed)
            + "\nrevisit each: is the bar right for this table (contract.yaml, the baselines "
            "in reports/metrics.json), or does the model need work (params.yaml train)?"
        )  # fmt: skip


def write_site(sb: sandbox.Sandbox) -> Path:
    sandbox.step(sb.log, "The registry page: one static page from Git (mlops site)")
    sandbox.sh(sb, "mlops", "site", "--out", str(sb.root / "site"))
    return sb.root / "site" / "index.html"


def run(where: str | Path = SANDBOX) -> None:
    # the sandbox keeps its own cache of fetched artifacts and scores: it starts cold each time
    os.environ["XDG_CACHE_HOME"] = str(Path(where).resolve() / "cache")
    sb = sandbox.create(".", where)
    undecided = None
    try:
        (first, first_message), (second, second_message) = retrains(sb.work)
        sandbox.retrain(sb, "retrain-1", first, f"retrain: {first_message}")
        sandbox.merge(sb, "retrain-1")
        sandbox.register(sb)
        sandbox.retrain(sb, "retrain-2", second, f"retrain: {second_message}")
        sandbox.merge(sb, "retrain-2")
        sandbox.register(sb)
        sandbox.sh(sb, "mlops", "versions")
        first_version_gates(sb)
        sandbox.merge(sb, sandbox.promote(sb, "staging", "v1.0.0", message="first release"))
        sandbox.merge(sb, sandbox.promote(sb, "production", "v1.0.0", message="first release"))
        sandbox.start_servers(sb)
        deploy_and_show(sb)
        sandbox.merge(sb, sandbox.promote(sb, "staging", "v1.1.0", message=second_message))
        deploy_and_show(sb)
        sandbox.merge(
            sb, sandbox.promote(sb, "production", "v1.1.0", canary=10, message="v1.1.0 on 10%")
        )
        deploy_and_show(sb)
        sandbox.merge(sb, sandbox.rollback(sb, "production"))
        deploy_and_show(sb)
        sandbox.audit(sb)
        sandbox.status(sb)
        undecided = closing_the_loop(sb)
        page = write_site(sb)  # while the servers run: the page shows that they agree with Git
    finally:
        sandbox.stop_servers(sb)
    sb.log(
        f"\nThe sandbox stays in {sb.root}: `cd {sb.work} && git log --oneline --graph` to look "
        "around; `make demo` again starts it afresh."
        f"\nThe registry page: open file://{page}"
    )
    if undecided is not None:
        raise undecided
