"""Promotion on a kserve target: `mlops promote` and `mlops rollback` commit deploy/ with
models.yaml, and the PR check passes on what they commit."""

from __future__ import annotations

import pytest
import yaml

from mlops.promotion import check, promote, rollback
from mlops.promotion.gitops import GitStateError
from tests.conftest import git, mlops
from tests.promotion.conftest import merge_pr, promo, registered_base  # noqa: F401

pytestmark = pytest.mark.integration
ISVC = "deploy/production/churn-model.yaml"


def _predictor(repo) -> dict:
    return yaml.safe_load((repo / ISVC).read_text())["spec"]["predictor"]


def _version(repo) -> str:
    [container] = _predictor(repo)["containers"]
    return next(e["value"] for e in container["env"] if e["name"] == "MLOPS_MODEL_VERSION")


def _changed(repo) -> set[str]:
    return set(git(repo, "show", "--name-only", "--format=", "HEAD").split())


def test_promote_canary_and_rollback_commit_the_manifests(promo):  # noqa: F811
    repo = promo
    path = repo / "environments" / "production.yaml"
    config = yaml.safe_load(path.read_text())
    config["serving"] = {"target": "kserve", "kserve": {"storage_uri": "s3://bucket/dvc"}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert "wrote deploy/argocd/production.yaml" in mlops(repo, "render").stdout
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "production on KServe")
    git(repo, "push", "-q", "origin", "main")

    for number, (env, version) in enumerate([("staging", "v1.0.0"), ("production", "v1.0.0"),
                                             ("staging", "v1.1.0")], start=1):  # fmt: skip
        promote.promote(repo, env, version)  # refuses what `mlops check` would refuse
        if env == "production":
            assert _changed(repo) == {"models.yaml", ISVC, "deploy/production/desired-state.yaml"}
        merge_pr(repo, f"promote/{env}-{version}", number)
    assert _version(repo) == "v1.0.0" and "canaryTrafficPercent" not in _predictor(repo)

    promote.promote(repo, "production", "v1.1.0", canary=10)
    plan = mlops(repo, "check", "--base", "main").stdout  # the PR check, stale files included
    assert "+    canaryTrafficPercent: 10" in plan
    merge_pr(repo, "promote/production-v1.1.0-canary10", 4)
    assert _predictor(repo)["canaryTrafficPercent"] == 10 and _version(repo) == "v1.1.0"

    proposal = rollback.rollback(repo, "production")
    assert ISVC in _changed(repo)
    report = check.check(repo, base="main")
    assert report.ok, report.failures
    # KServe's rollback: the canary's spec stays, 0 % of requests go to it, v1.0.0 at once
    assert _version(repo) == "v1.1.0" and _predictor(repo)["canaryTrafficPercent"] == 0

    # the same canary again after the rollback (as after `make demo`): its merged branch is reused
    merge_pr(repo, proposal.branch, 5)
    promote.promote(repo, "production", "v1.1.0", canary=10)
    assert _predictor(repo)["canaryTrafficPercent"] == 10
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "promote/production-v1.1.0-canary10"
    git(repo, "switch", "-q", "main")  # not merged: refused, the branch left as it was
    with pytest.raises(GitStateError, match=r"canary10' already exists"):
        promote.promote(repo, "production", "v1.1.0", canary=10)


def test_a_shadow_on_kserve_is_refused_with_the_reason(promo):  # noqa: F811
    from mlops.formats import models_file

    path = promo / "environments" / "production.yaml"
    config = yaml.safe_load(path.read_text())
    config["serving"] = {"target": "kserve", "kserve": {"storage_uri": "s3://bucket/dvc"}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    git(promo, "commit", "-qam", "production on KServe")
    tag = git(promo, "tag", "-l", "--format=%(contents)", "churn-model@v1.0.0")
    digest = yaml.safe_load(tag)["sha256"]
    stable = models_file.Pin("v1.0.0", digest)
    shadow = models_file.Shadow("v1.1.0", digest, 50)
    text = models_file.with_deployment(
        (promo / "models.yaml").read_text(), "production",
        models_file.Deployment(stable, None, shadow),
    )  # fmt: skip
    (promo / "models.yaml").write_text(text)
    mlops(promo, "render")
    report = check.check(promo, base="main")
    assert any("production.shadow: KServe's InferenceService cannot score" in f
               for f in report.failures), report.failures  # fmt: skip
