"""`mlops promote ENV VERSION --shadow PCT`: a shadow declared by a pull request like any other
change of models.yaml (digest and registration recorded, the PR check passes); refused with the
reason when it cannot be one."""

from __future__ import annotations

from mlops.core import paths
from mlops.formats import models_file
from mlops.model import registry
from mlops.promotion import check, promote
from tests.conftest import mlops
from tests.promotion.conftest import merge_pr


def test_a_shadow_is_proposed_as_a_branch_the_check_passes(promo):
    promote.promote(promo, "staging", "v1.0.0")
    merge_pr(promo, "promote/staging-v1.0.0", 1)
    out = mlops(promo, "promote", "staging", "v1.1.0", "--shadow", "100").stdout
    assert "promote staging: v1.0.0 → v1.0.0 + shadow v1.1.0 on 100%" in out
    state = models_file.load(promo / paths.MODELS_FILE)
    shadow = state.deployment("staging").shadow
    digest = registry.get_version(promo, "churn-model", "v1.1.0").digest
    assert shadow == models_file.Shadow("v1.1.0", digest, 100)
    assert "churn-model@v1.1.0" in state.registered
    report = check.check(promo, base="main")
    assert report.ok, report.failures
    [plan] = [p for p in report.plans if p.env == "staging"]
    assert plan.kind == "shadow" and plan.gates == {}

    # promoting the shadow is a change like any other: the stable moves, the shadow goes
    merge_pr(promo, "promote/staging-v1.1.0-shadow100", 2)
    promote.promote(promo, "staging", "v1.1.0")
    after = models_file.load(promo / paths.MODELS_FILE).deployment("staging")
    assert after.stable.version == "v1.1.0" and after.shadow is None


def test_a_shadow_that_cannot_be_is_refused_saying_why(promo):
    refused = mlops(promo, "promote", "staging", "v1.1.0", "--shadow", "50", check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "staging has no stable version for a shadow to run beside" in refused.stderr
    promote.promote(promo, "staging", "v1.0.0")
    merge_pr(promo, "promote/staging-v1.0.0", 1)
    for args, why in (
        (("v1.1.0", "--shadow", "101"), "a whole percent from 1 to 100"),
        (("v1.1.0", "--shadow", "10", "--canary", "10"), "either a canary or a shadow"),
        (("v1.0.0", "--shadow", "10"), "already answers with v1.0.0: a shadow never does"),
    ):
        proc = mlops(promo, "promote", "staging", *args, check=False)
        assert proc.returncode != 0 and why in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
