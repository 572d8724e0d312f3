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


def show_predictions(sb: sandbox.Sandbox, requests: int = 100) -> None:
    """Send single-row requests to every server and count which version answered each."""
    customers = records(requests, seed=11, drift=0.0)
    for env, server in sb.servers.items():
        answered: Counter = Counter()
        for i, customer in enumerate(customers):
            body = server.predict([customer], request_id=f"demo-{env}-{i}")
            answered[(body["model_version"], body["route"])] += 1
        shares = ", ".join(f"{v} ({route}) {n}" for (v, route), n in sorted(answered.items()))
        sb.log(f"   {env:<10} {requests} requests answered by: {shares}")


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
        out_dir=sb.root / "drift",
        echo=sb.log,
    )
    verdict = (
        "drift detected: monitor.yml would open an issue" if result.exit_code == 1 else ("no drift")
    )
    sb.log(f"   {verdict}")


def run(where: str | Path = SANDBOX) -> None:
    sb = sandbox.create(".", where)
    try:
        hgb = "train.hist_gradient_boosting"
        sandbox.retrain(
            sb, "retrain-1", {f"{hgb}.learning_rate": 0.1}, "retrain: learning rate 0.1"
        )
        sandbox.merge(sb, "retrain-1")
        sandbox.register(sb)
        sandbox.retrain(sb, "retrain-2", {f"{hgb}.max_leaf_nodes": 15}, "retrain: smaller trees")
        sandbox.merge(sb, "retrain-2")
        sandbox.register(sb)
        sandbox.sh(sb, "mlops", "versions")
        sandbox.merge(sb, sandbox.promote(sb, "staging", "v1.0.0", message="first release"))
        sandbox.merge(sb, sandbox.promote(sb, "production", "v1.0.0", message="first release"))
        sandbox.start_servers(sb)
        deploy_and_show(sb)
        sandbox.merge(sb, sandbox.promote(sb, "staging", "v1.1.0", message="smaller trees"))
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
    finally:
        sandbox.stop_servers(sb)
    sb.log(
        f"\nThe sandbox stays in {sb.root}: `cd {sb.work} && git log --oneline --graph` to look "
        "around; `make demo` again starts it afresh."
    )
