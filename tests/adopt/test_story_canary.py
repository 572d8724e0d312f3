"""`make demo`'s canary step when production's checks refuse the worse version (as the gates did
on small real tables): the refusal is shown with its reason, nothing is committed or served,
and the story goes on without a canary round instead of failing."""

from __future__ import annotations

from mlops.demos import rollouts, sandbox
from mlops.demos.loop import Story
from mlops.promotion import promote
from tests.conftest import git
from tests.promotion.conftest import merge_pr, promo, registered_base  # noqa: F401 (fixtures)


def test_a_canary_production_refuses_is_told_and_nothing_is_proposed(promo, tmp_path):  # noqa: F811
    promote.promote(promo, "staging", "v1.0.0")
    merge_pr(promo, "promote/staging-v1.0.0", 1)
    promote.promote(promo, "production", "v1.0.0")
    merge_pr(promo, "promote/production-v1.0.0", 2)
    # v1.1.0 never went through staging, which production requires: `mlops promote` refuses it
    told: list[str] = []
    sb = sandbox.Sandbox(tmp_path / "sb", log=told.append)
    sb.root.mkdir()
    sb.work.symlink_to(promo)
    head, models = git(promo, "rev-parse", "HEAD"), (promo / "models.yaml").read_text()

    rollouts.canary_rolled_back(sb, Story(), "v1.1.0")

    text = "\n".join(told)
    assert "$ mlops promote production v1.1.0 --canary 50" in text
    assert "error: promoting production would fail `mlops check`" in text
    assert "staging" in text.split("would fail `mlops check`", 1)[1]  # the reason is shown
    assert (
        "production's gates already refuse v1.1.0 against the version it serves (the reason "
        "above), before any request reaches it" in text
    )
    assert "Drifted traffic with its outcomes" not in text  # no look was sent
    assert git(promo, "rev-parse", "HEAD") == head
    assert git(promo, "branch", "--show-current") == "main"
    assert (promo / "models.yaml").read_text() == models
    assert git(promo, "branch", "--list", "promote/production-v1.1.0*") == ""
