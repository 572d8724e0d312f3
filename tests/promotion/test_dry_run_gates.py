"""A gate in dry run: `mlops check` computes it and shows "would block" in the promotion plan,
and the promotion goes through; the same gate enforced refuses it."""

from __future__ import annotations

import json

import yaml

from mlops.promotion import check, plan_markdown
from tests.conftest import git


def _strict_staging(repo, mode):
    """Base policy: staging's minimum roc_auc out of reach, in ``mode``."""
    path = repo / "environments" / "staging.yaml"
    config = yaml.safe_load(path.read_text())
    config["gates"]["min"] = {"roc_auc": 0.999}
    config["gates"]["mode"] = {"min": mode}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    git(repo, "commit", "-qam", f"staging: min roc_auc 0.999 in {mode}")


def _promote_text(repo):
    meta = json.loads(git(repo, "tag", "-l", "--format=%(contents)", "churn-model@v1.0.0"))
    pin = {"version": "v1.0.0", "digest": meta["sha256"]}
    return yaml.safe_dump({"models": {"churn-model": {"staging": pin}}})


def test_a_dry_run_gate_would_block_and_does_not(promo):
    _strict_staging(promo, "dry_run")
    report = check.evaluate(promo, _promote_text(promo), "main")
    assert report.ok, report.failures
    [plan] = [p for p in report.plans if p.env == "staging"]
    [gate] = [g for g in plan.gates["v1.0.0"] if g.gate == "min"]
    assert not gate.passed and gate.dry_run and not gate.blocks
    assert "| min | roc_auc |" in plan_markdown.markdown(report)
    assert "would block (dry run)" in plan_markdown.markdown(report)


def test_the_same_gate_enforced_blocks(promo):
    _strict_staging(promo, "enforce")
    report = check.evaluate(promo, _promote_text(promo), "main")
    assert any("fails gate min on roc_auc" in f for f in report.failures), report.failures
    assert "would block" not in plan_markdown.markdown(report)
