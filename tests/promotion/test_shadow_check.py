"""`mlops check` on a shadow: pinned like any version (registered, digest), judged by the base's
policy (`canary.max_shadow_traffic`), never gated (it answers nobody)."""

from __future__ import annotations

import json

import yaml

from mlops.promotion import check, plan_markdown
from tests.conftest import git


def _pin(repo, version):
    meta = json.loads(git(repo, "tag", "-l", "--format=%(contents)", f"churn-model@{version}"))
    return {"version": version, "digest": meta["sha256"]}


def _commit_staging(repo, deployment, message):
    text = yaml.safe_dump({"models": {"churn-model": {"staging": deployment}}})
    (repo / "models.yaml").write_text(text)
    git(repo, "commit", "-qam", message)
    return text


def test_a_shadow_is_checked_like_a_pin_and_limited_by_policy(promo):
    _commit_staging(promo, _pin(promo, "v1.0.0"), "staging: v1.0.0")
    shadow = {**_pin(promo, "v1.1.0"), "traffic": 100}
    text = yaml.safe_dump(
        {"models": {"churn-model": {"staging": {**_pin(promo, "v1.0.0"), "shadow": shadow}}}}
    )
    report = check.evaluate(promo, text, "main")
    assert report.ok, report.failures
    [plan] = [p for p in report.plans if p.env == "staging"]
    assert plan.kind == "shadow" and plan.gates == {}
    assert "v1.0.0 + shadow v1.1.0 on 100%" in plan_markdown.markdown(report)

    wrong = {**shadow, "digest": "sha256:" + "0" * 64}
    bad = text.replace(shadow["digest"], wrong["digest"])
    failures = check.evaluate(promo, bad, "main").failures
    assert any("staging.shadow.digest" in f and "is registered with" in f for f in failures)

    path = promo / "environments" / "staging.yaml"
    config = yaml.safe_load(path.read_text())
    config["canary"]["max_shadow_traffic"] = 0
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    git(promo, "commit", "-qam", "staging: no shadows")
    failures = check.evaluate(promo, text, "main").failures
    assert any("staging.shadow.traffic = 100: staging allows no shadow" in f for f in failures)
