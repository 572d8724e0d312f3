"""What runs is what was reviewed: a version is (name, digest) and the tag object it was first
registered as; nothing in a tag message decides anything. Real Git histories with a bare origin:
tags deleted, re-created and force-pushed; candidates scored on their holdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlops.formats import models_file
from mlops.formats.models_file import Deployment, Pin
from mlops.model import registry
from mlops.promotion import promote
from tests.conftest import git, mlops, run
from tests.promotion.conftest import BAD_RETRAIN, dvc_checkout, merge_pr

# One worker runs both: the second test copies the bad retrain the first built, instead of the
# other worker waiting idle for that build.
pytestmark = pytest.mark.xdist_group("bad-retrain")
MODEL = "churn-model"


def _promote(repo: Path, env: str, version: str, number: int) -> None:
    promote.promote(repo, env, version)
    merge_pr(repo, f"promote/{env}-{version}", number)


def _retag(repo: Path, version: str, commit: str, metadata: dict) -> str:
    """Delete the tag here and on origin, re-create it on ``commit`` and force-push it."""
    tag = registry.tag_name(MODEL, version)
    run(["git", "push", "-q", "origin", f":refs/tags/{tag}"], repo, check=False)
    run(["git", "tag", "-d", tag], repo, check=False)
    git(repo, "tag", "-a", tag, "-m", json.dumps(metadata), commit)
    git(repo, "push", "-q", "--force", "origin", f"refs/tags/{tag}")
    return registry.get_version(repo, MODEL, version).obj


def _pin_by_hand(repo: Path, env: str, version: str, digest: str, branch: str) -> None:
    git(repo, "switch", "-q", "-c", branch, "main")
    path = repo / "models.yaml"
    path.write_text(
        models_file.with_deployment(path.read_text(), env, Deployment(Pin(version, digest)))
    )


def _check(repo: Path):
    out = mlops(repo, "check", "--base", "main", check=False)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def test_a_re_created_tag_is_refused_everywhere_and_never_taken_for_a_rollback(bad_promo):
    repo = bad_promo
    _promote(repo, "staging", "v1.0.0", 1)
    _promote(repo, "production", "v1.0.0", 2)
    _promote(repo, "staging", "v1.1.0", 3)
    _promote(repo, "production", "v1.1.0", 4)
    old = registry.get_version(repo, MODEL, "v1.0.0")
    recorded = models_file.load(repo / "models.yaml").registered[old.tag]
    assert recorded == {"object": old.obj, "commit": old.commit, "digest": old.digest}

    # a bad retrain on a branch, pushed to the DVC remote, re-tagged as v1.0.0 with the old
    # tag's JSON but the new sha256/md5
    git(repo, "switch", "-q", BAD_RETRAIN)
    dvc_checkout(repo)
    bad = registry.workspace_metadata(repo)
    assert bad["sha256"] != old.digest and bad["md5"] != old.metadata["md5"]
    new_obj = _retag(
        repo, "v1.0.0", "HEAD", {**old.metadata, "sha256": bad["sha256"], "md5": bad["md5"]}
    )
    _pin_by_hand(repo, "production", "v1.0.0", bad["sha256"], "back-to-v1.0.0")
    git(repo, "commit", "-qam", "roll production back to v1.0.0")

    out = _check(repo)
    assert out.returncode == 1
    assert f"tag {old.tag} was re-created or moved after it was registered" in out.stderr
    assert old.obj[:10] in out.stderr and new_obj[:10] in out.stderr
    assert old.digest in out.stderr and bad["sha256"] in out.stderr
    assert "not on main's first-parent line" in out.stderr
    assert "| production | promotion | v1.1.0 | v1.0.0 |" in out.stdout  # not a rollback
    assert "Rollback to a version" not in out.stdout

    # the record cannot be rewritten in the same change, nor dropped
    text = (repo / "models.yaml").read_text()
    (repo / "models.yaml").write_text(text.replace(old.obj, new_obj))
    out = _check(repo)
    assert out.returncode == 1 and f"registered.{old.tag}: this change changes" in out.stderr
    raw = yaml.safe_load(text)
    raw.pop("registered")
    (repo / "models.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    out = _check(repo)
    assert out.returncode == 1 and f"registered.{old.tag}: this change drops" in out.stderr
    # without the record, the history still knows the digest v1.0.0 had when it was live
    assert f"but v1.0.0 was live on main with {old.digest}" in out.stderr

    # the audit on main says so too, and exits non-zero
    git(repo, "switch", "-q", "-f", "main")
    audit = mlops(repo, "audit", check=False)
    assert audit.returncode == 1 and f"tag {old.tag} was re-created or moved" in audit.stderr
    assert "Traceback" not in audit.stderr
    # the listing and the registry page say it as well: the tag's figures are not the record
    listed = mlops(repo, "versions")
    assert f"versions: tag {old.tag} was re-created or moved" in listed.stderr
    moved = registry.get_version(repo, MODEL, "v1.0.0")
    assert (
        f"{old.tag} points at {moved.commit[:10]}, which is not on origin/main's first-parent "
        "line (never merged)"
    ) in listed.stderr
    mlops(repo, "site", "--out", str(repo.parent / "site"), "--no-live")
    page = (repo.parent / "site" / "index.html").read_text()
    assert "The history has problems" in page and f"tag {old.tag} was re-created" in page


def test_gates_read_measured_figures_never_the_tag(bad_promo):
    repo = bad_promo
    _promote(repo, "staging", "v1.0.0", 1)
    path = repo / "environments" / "staging.yaml"
    config = yaml.safe_load(path.read_text())
    config["gates"]["min"]["f1"] = 0.3
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    git(repo, "commit", "-qam", "staging: f1 at least 0.3")
    good = registry.get_version(repo, MODEL, "v1.1.0")

    # a tag whose message claims better metrics than its commit's reports
    claimed = {k: min(1.0, v + 0.05) for k, v in good.metadata["metrics"].items()}
    _retag(repo, "v1.3.0", good.commit, {**good.metadata, "metrics": claimed})
    _pin_by_hand(repo, "staging", "v1.3.0", good.digest, "claims")
    out = _check(repo)
    assert out.returncode == 1
    assert "churn-model@v1.3.0: its message records metrics that differ from " in out.stderr
    git(repo, "switch", "-q", "-f", "main")

    # a model that predicts no positive (f1 0.0: threshold 0.999), merged with hand-written
    # reports that claim v1.1.0's metrics, and tagged with them: the tag agrees with its commit,
    # the model does not
    merge_pr(repo, BAD_RETRAIN, 2, push=False)
    dvc_checkout(repo)
    assert registry.workspace_metadata(repo)["metrics"]["f1"] == 0.0
    (repo / "reports" / "metrics.json").write_text(json.dumps(good.metadata["metrics"]))
    git(repo, "commit", "-qam", "reports: better figures")
    git(repo, "push", "-q", "origin", "main")
    lie = registry.workspace_metadata(repo)
    assert lie["metrics"] == good.metadata["metrics"]
    _retag(repo, "v1.2.0", "HEAD", lie)
    _pin_by_hand(repo, "staging", "v1.2.0", lie["sha256"], "worse")
    out = _check(repo)
    assert out.returncode == 1
    assert "churn-model@v1.2.0 fails gate min on f1: 0.0 vs 0.3" in out.stderr
    assert "differ from" not in out.stderr  # provenance holds: the measured figures decide
