"""`make demo`: the whole GitOps loop in a sandbox, told as a story a newcomer can follow.

retrain on a branch -> merge -> register v1.0.0 -> retrain -> v1.1.0 -> promote staging ->
deploy -> production canary 10 % -> deploy -> revert -> deploy -> audit -> status -> drifted
traffic to production -> drift report. Live predictions are shown after every deploy.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mlops import predlog, sandbox
from mlops.monitoring.demo import demo_drift, records

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


def drift_ending(sb: sandbox.Sandbox) -> None:
    sandbox.step(
        sb.log, "Monitoring: production receives drifted traffic; mlops drift reads its log"
    )
    clone = sb.server_clone("production")
    result = demo_drift(
        sb.work,
        sb.servers["production"].url,
        log_dir=clone / predlog.DEFAULT_DIR,
        out_dir=sb.work / "reports" / "drift",  # where `mlops site` finds it (gitignored)
        echo=sb.log,
    )
    verdict = (
        "drift detected: monitor.yml would open an issue" if result.exit_code == 1 else ("no drift")
    )
    sb.log(f"   {verdict}")


def write_site(sb: sandbox.Sandbox) -> Path:
    sandbox.step(sb.log, "The registry page: one static page from Git (mlops site)")
    sandbox.sh(sb, "mlops", "site", "--out", str(sb.root / "site"))
    return sb.root / "site" / "index.html"


def run(where: str | Path = SANDBOX) -> None:
    sb = sandbox.create(".", where)
    try:
        (first, first_message), (second, second_message) = retrains(sb.work)
        sandbox.retrain(sb, "retrain-1", first, f"retrain: {first_message}")
        sandbox.merge(sb, "retrain-1")
        sandbox.register(sb)
        sandbox.retrain(sb, "retrain-2", second, f"retrain: {second_message}")
        sandbox.merge(sb, "retrain-2")
        sandbox.register(sb)
        sandbox.sh(sb, "mlops", "versions")
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
        drift_ending(sb)
        page = write_site(sb)  # while the servers run: the page shows that they agree with Git
    finally:
        sandbox.stop_servers(sb)
    sb.log(
        f"\nThe sandbox stays in {sb.root}: `cd {sb.work} && git log --oneline --graph` to look "
        "around; `make demo` again starts it afresh."
        f"\nThe registry page: open file://{page}"
    )
