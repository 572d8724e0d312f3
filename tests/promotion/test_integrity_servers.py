"""Servers apply only approved states: a real server polling a bare origin's main refuses a
direct push the policy refuses, and a tag moved after registration, with the same verdict as
`mlops deploy`; deploy sends the sync token only to the target already deployed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops.demos.drift import records
from mlops.formats import environments, models_file
from mlops.formats.models_file import Canary, Deployment, Pin
from mlops.model import model_io, registry
from mlops.serve import launcher, loading
from tests.conftest import git, mlops
from tests.promotion.conftest import TOKEN
from tests.promotion.test_e2e import _deploy, _push_models_yaml

pytestmark = pytest.mark.e2e
MODEL = "churn-model"


def _restart(repo: Path, servers: dict, env: str):
    servers[env].stop()
    clone = repo.parent / "servers" / env
    port = int(environments.load(env, clone).serving.url.rsplit(":", 1)[1])
    servers[env] = launcher.start(clone, env, port, token=TOKEN, workers=1, sync_interval=3600)
    return servers[env]


def _positives(server, rows: list[dict]) -> int:
    answer = server.predict(rows)
    return sum(1 for p in answer["predictions"] if p in (1, "1"))


def test_a_direct_push_the_policy_refuses_is_never_applied(live):
    repo, servers = live
    production = servers["production"]
    before = production.version()
    v100, v110 = (registry.get_version(repo, MODEL, v) for v in ("v1.0.0", "v1.1.0"))
    canary = Deployment(Pin("v1.0.0", v100.digest), Canary("v1.1.0", v110.digest, 90))
    text = models_file.with_deployment((repo / "models.yaml").read_text(), "production", canary)
    _push_models_yaml(repo, text, "direct push: production canary at 90%")

    view = production.sync()  # what its poll of origin/main does, now
    assert view["sync"] == "Degraded"
    assert "fails `mlops check` against the applied state" in view["reason"]
    assert "canary.traffic = 90: above production's canary.max_traffic 50" in view["reason"]
    assert (view["commit"], view["stable"], view["canary"]) == (
        before["commit"],
        before["stable"],
        None,
    )
    rows = records(repo, 20, seed=5)
    assert production.predict(rows)["model_version"] == "v1.0.0"
    out = _deploy(repo, check=False)  # the same verdict
    assert out.returncode == 2 and "fails `mlops check` against the deployed state" in out.stderr
    assert "canary.max_traffic 50" in out.stderr

    # restarted, it serves the state it approved last and still refuses the push
    production = _restart(repo, servers, "production")
    view = production.version()
    assert view["sync"] == "Degraded" and view["stable"] == before["stable"]
    assert view["canary"] is None and "canary.max_traffic 50" in view["reason"]
    assert production.predict(rows)["model_version"] == "v1.0.0"

    # the audit never shows the refused state as served: marked, and exit 1 while it is main's
    pushed = git(repo, "rev-parse", "HEAD")
    audit = mlops(repo, "audit", check=False)
    assert audit.returncode == 1 and "Traceback" not in audit.stderr
    assert "NOT APPLIED (refused by mlops check, no PR): direct push" in audit.stdout
    assert (
        f"{pushed[:10]} (direct push: production canary at 90%) changed production without a "
        "pull request and fails `mlops check`"
    ) in audit.stderr

    git(repo, "revert", "--no-edit", "HEAD")
    git(repo, "push", "-q", "origin", "main")
    view = production.sync()
    assert view["sync"] == "Synced" and view["commit"] == git(repo, "rev-parse", "HEAD")
    audit = mlops(repo, "audit", check=False)  # reverted: history, marked, no longer a problem
    assert audit.returncode == 0 and "NOT APPLIED (refused by mlops check" in audit.stdout


def test_a_moved_tag_changes_nothing_served_and_is_refused(live):
    repo, servers = live
    staging = servers["staging"]
    rows = records(repo, 200, seed=11)
    positives = _positives(staging, rows)
    old = registry.get_version(repo, MODEL, "v1.0.0")
    metadata = json.loads(json.dumps(old.metadata))
    # the same commit and digest, another threshold in every place the tag states one
    metadata["params"]["evaluate"]["threshold"] = metadata["metrics"]["threshold"] = 0.999
    tag = old.tag
    git(repo, "tag", "-f", "-a", tag, "-m", json.dumps(metadata), old.commit)
    git(repo, "push", "-q", "--force", "origin", f"refs/tags/{tag}")
    moved = registry.get_version(repo, MODEL, "v1.0.0").obj

    view = staging.sync()
    assert view["sync"] == "Degraded" and view["stable"]["version"] == "v1.0.0"
    assert f"tag {tag} was re-created or moved after it was registered" in view["reason"]
    assert old.obj[:10] in view["reason"] and moved[:10] in view["reason"]
    assert _positives(staging, rows) == positives
    # a server loading it would take the threshold from the artifact, not from the tag
    now = registry.get_version(repo, MODEL, "v1.0.0")
    model = model_io.load(registry.fetch_artifact(repo, now, repo.parent / "artifacts"))
    carried = model_io.threshold_of(model)
    assert carried == old.metadata["metrics"]["threshold"]  # what evaluate measured it at
    assert loading.artifact_threshold(model, repo, now) == carried != 0.999
    out = _deploy(repo, check=False)
    assert out.returncode == 2 and f"tag {tag} was re-created or moved" in out.stderr
    audit = mlops(repo, "audit", check=False)
    assert audit.returncode == 1 and f"tag {tag} was re-created or moved" in audit.stderr

    staging = _restart(repo, servers, "staging")  # a restart does not make it acceptable
    view = staging.version()
    assert view["sync"] == "Degraded" and f"tag {tag} was re-created" in view["reason"]


def test_deploy_targets_come_from_the_deployed_state(live):
    repo = live[0]
    path = repo / "environments" / "production.yaml"
    url = environments.load("production", repo).serving.url
    elsewhere = f"http://127.0.0.1:{launcher.free_port()}"
    path.write_text(path.read_text().replace(url, elsewhere))
    git(repo, "switch", "-q", "-c", "move-production")
    git(repo, "commit", "-qam", "production: serve elsewhere")
    plan = mlops(repo, "check", "--base", "main").stdout
    assert f"environments/production.yaml: serving.url: {url} → {elsewhere}" in plan
    assert "Policy change: needs its own review" in plan

    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "move-production", "-m", "Merge pull request #9")
    git(repo, "push", "-q", "origin", "main")
    out = _deploy(repo)  # the token goes to the target already deployed, never to `elsewhere`
    assert f"deploying to the deployed target {url}" in out.stdout
    assert "production: v1.0.0 unchanged" in out.stdout
