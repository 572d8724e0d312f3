"""Scores are kept by what decides them: the checks that follow `mlops promote` (the PR check,
`mlops deploy`, each server) read the candidate's scores instead of scoring it again, and a
change of any input scores afresh."""

from __future__ import annotations

import json

import pytest

from mlops.model import registry
from mlops.promotion import check, promote
from mlops.quality import champion, score_cache


def _plan(report, env="staging"):
    return next(p for p in report.plans if p.env == env)


def test_a_second_check_reads_the_scores_and_agrees(promo, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    promote.promote(promo, "staging", "v1.0.0")
    from tests.promotion.conftest import merge_pr

    merge_pr(promo, "promote/staging-v1.0.0", 1)
    promote.promote(promo, "staging", "v1.1.0")  # scores v1.1.0, and v1.0.0 on its holdout
    stored = list((tmp_path / "cache" / "mlops" / "scores").glob("*.json"))
    # v1.0.0 on its holdout (its own promotion); v1.1.0 on its holdout; v1.0.0 on those rows
    assert len(stored) == 3
    first = check.check(promo, base="main")

    def never(*_):
        raise AssertionError("scored again")

    monkeypatch.setattr(champion.Scorer, "_score", never)
    again = check.check(promo, base="main")
    assert again.ok and first.ok
    assert _plan(again).compared["v1.1.0"] == _plan(first).compared["v1.1.0"]
    assert [g.to_dict() for g in _plan(again).gates["v1.1.0"]] == [
        g.to_dict() for g in _plan(first).gates["v1.1.0"]
    ]

    # another cache (a fresh runner) scores again
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
    with pytest.raises(AssertionError, match="scored again"):
        check.check(promo, base="main")


def test_the_key_moves_with_every_input(promo):
    v0 = registry.get_version(promo, "churn-model", "v1.0.0")
    v1 = registry.get_version(promo, "churn-model", "v1.1.0")
    base = score_cache.key(v1, v0, v0.digest)
    assert base == score_cache.key(v1, v0, v0.digest)
    edited = registry.Version(v0.model, v0.version, v0.commit, {**v0.metadata, "md5": "0" * 32},
                              obj=v0.obj)  # fmt: skip
    assert len({base, score_cache.key(v0, v0, v0.digest), score_cache.key(v1, v0, "sha256:0"),
                score_cache.key(v1, edited, v0.digest)}) == 4  # fmt: skip


def test_an_unreadable_entry_is_scored_again(promo, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    v0 = registry.get_version(promo, "churn-model", "v1.0.0")
    v1 = registry.get_version(promo, "churn-model", "v1.1.0")
    scorer = champion.Scorer.for_version(promo, v1)
    found = scorer.champion(v0, v0.digest)
    assert found.scored
    [entry] = (tmp_path / "cache" / "mlops" / "scores").glob("*.json")
    assert json.loads(entry.read_text())["metrics"] == found.metrics
    entry.write_text("{not json")
    again = champion.Scorer.for_version(promo, v1).champion(v0, v0.digest)
    assert again == found and json.loads(entry.read_text())["metrics"] == found.metrics
