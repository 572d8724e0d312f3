"""Champion against challenger on the same rows: the PR report and `mlops gate` score the live
model (fetched through DVC, sha256 checked) on the change's holdout, and fall back to the live
version's recorded metrics, saying why, when it cannot be fetched or verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlops.core import paths
from mlops.formats import environments
from mlops.model import registry
from mlops.quality import champion, gates
from mlops.quality.holdout import workspace_holdout
from tests.adopted import deploy, private_copy
from tests.conftest import deploy_version, dvc, mlops

pytestmark = pytest.mark.integration


def _report(repo: Path, cache: Path) -> str:
    proc = mlops(repo, "report", "--base", "HEAD", env={"XDG_CACHE_HOME": str(cache)})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    return (repo / paths.PR_REPORT).read_text()


def _gate(repo: Path, cache: Path) -> dict:
    proc = mlops(
        repo, "gate", "--env", "production", "--json", check=False,
        env={"XDG_CACHE_HOME": str(cache)},
    )  # fmt: skip
    (verdict,) = json.loads(proc.stdout)
    return verdict


def _regression(verdict: dict) -> dict:
    return next(g for g in verdict["gates"] if g["gate"] == "max_regression")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("|")[1:-1]]


def _row(md: str, metric: str) -> dict[str, str]:
    """The metrics table's row for ``metric``, by column: "new" (this change), "trivial",
    "linear" (its baselines), "on_rows" and "own" (the live version's two columns)."""
    lines = md.splitlines()
    header = _cells(next(x for x in lines if x.startswith("| metric |")))
    row = dict(zip(header, _cells(next(x for x in lines if x.startswith(f"| `{metric}` |"))),
                   strict=True))  # fmt: skip
    named = {"this change": "new", "trivial baseline": "trivial", "linear baseline": "linear"}
    out = {named.get(k, k): v for k, v in row.items()}
    for key, value in row.items():
        if key.endswith(" on these rows") and not key.startswith("this change"):
            out["on_rows"] = value
        elif key.endswith(" own holdout"):
            out["own"] = value
    return out


def _set_max_regression(repo: Path, env: str, tolerance: float) -> None:
    path = repo / "environments" / f"{env}.yaml"
    config = yaml.safe_load(path.read_text())
    config["gates"]["max_regression"] = {"roc_auc": tolerance}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _object(repo: Path, md5: str) -> list[Path]:
    """The model's object in the DVC cache and in the (local) DVC remote."""
    remote = Path(dvc(repo, "remote", "list").stdout.split()[1])
    return [
        root / "files" / "md5" / md5[:2] / md5[2:] for root in (repo / ".dvc" / "cache", remote)
    ]


def test_same_rows_change_the_verdict_when_the_data_changed(repo, tmp_path):
    deploy_version(repo, "v1.0.0", ("production",))
    _set_max_regression(repo, "production", 0.01)
    # new data: a drifted population, harder to predict for every model
    mlops(repo, "data", "generate", "--rows", "3000", "--seed", "7", "--drift", "0.8")
    # no `dvc add` first: `dvc repro` commits the changed data source (data.dvc) itself
    dvc(repo, "repro")
    md = _report(repo, tmp_path / "cache")

    candidate = json.loads((repo / paths.METRICS).read_text())["roc_auc"]
    row = _row(md, "roc_auc")
    new, on_rows, own = row["new"], row["on_rows"], row["own"]
    recorded = registry.get_version(repo, "churn-model", "v1.0.0").metadata["metrics"]["roc_auc"]
    assert float(new) == pytest.approx(candidate, abs=1e-4)
    assert float(own) == pytest.approx(recorded, abs=1e-4)
    # on its own (easier) holdout the live model looked better than the candidate by more than
    # the tolerance; on the candidate's rows the difference is within it
    assert recorded - candidate > 0.01
    assert float(on_rows) - candidate < 0.01
    assert "**Same rows:**" in md and "this change's holdout (`artifacts/split/holdout.csv`" in md
    rows = len((repo / paths.HOLDOUT).read_text().splitlines()) - 1
    # the live version trained on none of the new table's rows: all of them are compared
    assert f"{rows:,} of {rows:,} rows of this change's holdout" in md
    verdict = _gate(repo, tmp_path / "cache")
    gate = _regression(verdict)
    assert gate["passed"] and "that neither version trained on)" in gate["detail"]
    assert verdict["compared_with"]["same_rows"] is True
    assert verdict["compared_with"]["metrics"]["roc_auc"] == pytest.approx(float(on_rows), 1e-4)
    # the comparison of before this change, on the live version's recorded metrics, would fail
    env = environments.load("production", repo)
    old = gates.check(
        env, gates.Results.from_workspace(repo), gates.Results({"roc_auc": recorded}, {}, {})
    )
    assert not next(g for g in old if g.gate == "max_regression").passed


def test_a_live_model_whose_bytes_differ_from_the_pin_is_refused(repo, tmp_path, monkeypatch):
    deploy_version(repo, "v1.0.0", ("production",))
    version = registry.get_version(repo, "churn-model", "v1.0.0")
    for path in _object(repo, version.metadata["md5"]):  # the remote serves altered bytes
        path.chmod(0o644)
        blob = bytearray(path.read_bytes())
        blob[100] ^= 1
        path.write_bytes(bytes(blob))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(champion.ChampionError, match="refusing it"):
        champion.load_live(repo, version, version.digest)

    md = _report(repo, tmp_path / "cache")
    assert "**Not the same rows:** production's v1.0.0 could not be scored" in md
    assert f"but the version pins {version.digest}; refusing it" in md
    assert "on these rows" not in md and "production (v1.0.0) own holdout" in md
    gate = _regression(_gate(repo, tmp_path / "cache"))
    assert "(live on its own holdout)" in gate["detail"]


def test_a_live_model_missing_from_the_remote_falls_back_and_says_so(repo, tmp_path):
    deploy_version(repo, "v1.0.0", ("production",))
    version = registry.get_version(repo, "churn-model", "v1.0.0")
    for path in _object(repo, version.metadata["md5"]):
        path.unlink()
    md = _report(repo, tmp_path / "cache")
    assert "**Not the same rows:**" in md
    assert "cannot fetch artifacts/model.skops" in md and "was `dvc push` run" in md
    assert "recorded on its own holdout" in md
    verdict = _gate(repo, tmp_path / "cache")
    gate = _regression(verdict)  # the same model: no drop on its recorded metrics either
    assert gate["passed"] and "(live on its own holdout)" in gate["detail"]
    assert verdict["compared_with"]["same_rows"] is False


def test_a_workspace_holdout_that_is_not_the_evaluated_one_is_not_used(repo, tmp_path):
    deploy_version(repo, "v1.0.0", ("production",))
    holdout = repo / paths.HOLDOUT
    holdout.chmod(0o644)
    holdout.write_text(holdout.read_text() + holdout.read_text().splitlines()[1] + "\n")
    md = _report(repo, tmp_path / "cache")
    assert "is not the holdout dvc.lock pins" in md and "**Not the same rows:**" in md


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_same_rows_per_task(task, adopted, tmp_path):
    repo = private_copy(adopted(task), tmp_path)
    deploy(repo, "production", "v1.0.0")  # the workspace's own model: the same numbers
    md = _report(repo, tmp_path / "cache")
    metrics = json.loads((repo / paths.METRICS).read_text())
    for name, value in metrics.items():
        row = _row(md, name)
        new, on_rows, own = row["new"], row["on_rows"], row["own"]
        assert on_rows == new == own, (name, value)
    assert "**Same rows:**" in md
    verdict = _gate(repo, tmp_path / "cache")
    assert verdict["compared_with"]["metrics"] == metrics


def test_a_live_model_of_another_contract_is_not_scored(repo, tmp_path, monkeypatch):
    import dataclasses

    deploy_version(repo, "v1.0.0", ("production",))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    version = registry.get_version(repo, "churn-model", "v1.0.0")
    model = champion.load_live(repo, version, version.digest)
    holdout = workspace_holdout(repo)
    assert champion.score(model, version, holdout) == json.loads(
        (repo / paths.METRICS).read_text()
    )  # the same metric functions as the evaluate stage: the same numbers
    feature = holdout.contract.features[0]
    fewer = dataclasses.replace(holdout, frame=holdout.frame.drop(columns=[feature]))
    with pytest.raises(
        champion.ChampionError, match=f"features absent from the holdout: {feature}"
    ):
        champion.score(model, version, fewer)
    other = dataclasses.replace(holdout.contract, task="regression", classes=(), positive=None)
    with pytest.raises(champion.ChampionError, match="task binary vs regression"):
        champion.score(model, version, dataclasses.replace(holdout, contract=other))
