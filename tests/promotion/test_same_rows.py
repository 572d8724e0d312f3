"""`mlops check` gates max_regression on the live version's model scored on the candidate's
holdout, both fetched through DVC by the md5s the candidate's tag and the live version pin; when
the live model cannot be fetched it falls back to the recorded metrics and says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mlops.model import registry
from mlops.promotion import promote
from tests.conftest import mlops
from tests.promotion.conftest import merge_pr


def _check(repo: Path, cache: Path, *args: str):
    return mlops(
        repo, "check", "--base", "main", *args, check=False, env={"XDG_CACHE_HOME": str(cache)}
    )


def _staging(report: dict) -> dict:
    return next(p for p in report["plans"] if p["env"] == "staging")


def _objects(repo: Path, md5: str) -> list[Path]:
    path = Path("files") / "md5" / md5[:2] / md5[2:]
    return [repo / ".dvc" / "cache" / path, repo.parent / "remote" / path]


def test_check_scores_the_live_model_on_the_candidates_holdout(promo, tmp_path):
    promote.promote(promo, "staging", "v1.0.0")
    merge_pr(promo, "promote/staging-v1.0.0", 1)
    promote.promote(promo, "staging", "v1.1.0")
    shutil.rmtree(promo / ".dvc" / "cache")  # the holdout and the model come from the remote
    live = registry.get_version(promo, "churn-model", "v1.0.0")

    plan = _staging(json.loads(_check(promo, tmp_path / "cache", "--json").stdout))
    compared = plan["compared_with"]["v1.1.0"]
    assert compared["same_rows"] is True
    assert (
        "rows of churn-model@v1.1.0's holdout (`artifacts/split/holdout.csv`, "
        in (compared["rows"])
    )
    # v1.1.0 was trained on the same data and split: on those rows v1.0.0 scores exactly what
    # it recorded on its own holdout (the same metric functions as evaluate)
    assert compared["metrics"] == live.metadata["metrics"]
    gate = next(g for g in plan["gates"]["v1.1.0"] if g["gate"] == "max_regression")
    assert "that neither version trained on)" in gate["detail"]
    md = _check(promo, tmp_path / "cache").stdout
    assert "| metric | v1.0.0 (live) | v1.1.0 | v1.0.0 on v1.1.0's holdout |" in md
    assert "`max_regression` against v1.0.0 (live in staging): scored on the same rows" in md

    # the live model is gone from the remote (and every cache): the recorded metrics, said so
    for path in _objects(promo, live.metadata["md5"]):
        path.unlink(missing_ok=True)
    proc = _check(promo, tmp_path / "empty-cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "its recorded metrics on its own holdout, because churn-model@v1.0.0: cannot " in (
        proc.stdout
    )
    assert "on v1.1.0's holdout |" not in proc.stdout
    assert "(live on its own holdout)" in proc.stdout
