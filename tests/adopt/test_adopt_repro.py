"""`mlops data adopt` then `dvc repro`, as a new user does it: one table per task, in a real
Git + DVC clone of the template; tables made here, never the workspace's data."""

import hashlib
import json
import shutil
import sys

import pytest
import yaml

from mlops.core import paths
from tests.adopt import tables
from tests.conftest import dvc, git, mlops, quick_params, run, use_sample

pytestmark = pytest.mark.integration

CASES = {
    "binary": (tables.binary, "bought", ["--segment", "country"]),
    "multiclass": (tables.multiclass, "grade", []),
    "regression": (tables.regression, "price", ["--segment", "city", "--name", "house-prices"]),
}
METRICS = {
    "binary": {
        "roc_auc",
        "average_precision",
        "f1",
        "precision",
        "recall",
        "accuracy",
        "log_loss",
        "brier",
        "ece",
        "threshold",
    },
    "multiclass": {
        "accuracy",
        "macro_f1",
        "log_loss",
        "recall_high",
        "recall_low",
        "recall_mid",
        "brier",
        "ece",
    },
    "regression": {"rmse", "mae", "r2"},
}
PLOTS = {
    "binary": {"roc", "precision_recall", "confusion", "reliability"},
    "multiclass": {"confusion", "reliability"},
    "regression": {"predicted_vs_actual", "residuals"},
}


def _adopt(repo, tmp_path, task, check=True):
    make, target, extra = CASES[task]
    source = tmp_path / (f"{task}.parquet" if task == "multiclass" else f"{task}.csv")
    frame = make()
    frame.to_parquet(source) if task == "multiclass" else frame.to_csv(source, index=False)
    return mlops(repo, "data", "adopt", str(source), "--target", target, *extra, check=check)


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _seed_run_cache(repo, built) -> None:
    """Copy (never link: a test may alter what it holds) the DVC cache of the session's
    ``built`` repository, objects and run cache, into ``repo``'s: `dvc repro` then restores a
    stage whose command, deps and params match a run made there instead of running it again."""
    shutil.copytree(built / ".dvc" / "cache", repo / ".dvc" / "cache", dirs_exist_ok=True)


def _run_stages(repo, monkeypatch) -> None:
    """The stages' own ``main``s in order, in-process (what `dvc repro` runs, minus DVC)."""
    from mlops.stages import card, evaluate, split, train, validate

    monkeypatch.chdir(repo)
    for stage in (validate, split, train, evaluate, card):
        assert stage.main() == 0


def _check_outputs(repo, task) -> dict:
    contract = yaml.safe_load((repo / "contract.yaml").read_text())
    assert contract["task"] == task
    metrics = json.loads((repo / paths.METRICS).read_text())
    assert set(metrics) == METRICS[task]
    slices = json.loads((repo / paths.SLICES).read_text())
    assert slices["segment"] == contract["segment"]
    assert bool(slices["slices"]) == bool(contract["segment"])
    written = {p.stem for p in (repo / paths.PLOTS).glob("*.json")}
    assert written == PLOTS[task] == {p.stem for p in (repo / paths.FIGURES).glob("*.png")}
    card = (repo / paths.MODEL_CARD).read_text()
    assert card.startswith(f"# Model card: {contract['model']} (workspace build)")
    models = yaml.safe_load((repo / "models.yaml").read_text())["models"]
    assert list(models) == [contract["model"]]
    return contract


def test_adopt_then_dvc_repro_regression_with_segment_and_name(template_clone, tmp_path, adopted):
    """The whole path with real DVC, bit-exact retraining and the gate on the adopted task. The
    session's adopted regression repository split and trained on the same table, contract and
    params: `dvc repro` restores those two stages from its run cache (DVC keeps none for the
    stages with uncached outputs), and a new interpreter retrains below to the same bytes."""
    _seed_run_cache(template_clone, adopted("regression") / "repo")
    out = _adopt(template_clone, tmp_path, "regression").stdout
    assert "task regression" in out and "review before committing" in out
    quick_params(template_clone)
    dvc(template_clone, "repro")
    repo = template_clone
    assert _check_outputs(repo, "regression")["model"] == "house-prices"
    assert json.loads(dvc(repo, "status", "--json").stdout or "{}") == {}
    gate = mlops(repo, "gate", "--env", "staging", "--json", check=False)
    assert gate.returncode in (0, 1) and "Traceback" not in gate.stderr
    first = _md5(repo / paths.MODEL)
    run([sys.executable, "-m", "mlops.stages.train"], repo)
    assert _md5(repo / paths.MODEL) == first


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_adopt_then_every_stage_for_classification(template_clone, tmp_path, task, monkeypatch):
    out = _adopt(template_clone, tmp_path, task).stdout
    assert f"task {task}" in out
    quick_params(template_clone)
    _run_stages(template_clone, monkeypatch)
    _check_outputs(template_clone, task)
    first = _md5(template_clone / paths.MODEL)
    from mlops.stages import train

    assert train.main() == 0 and _md5(template_clone / paths.MODEL) == first


def test_adopting_the_same_file_again_changes_nothing(template_clone, tmp_path):
    _adopt(template_clone, tmp_path, "regression")
    git(template_clone, "add", "-A")
    git(template_clone, "commit", "-qm", "adopt")
    out = _adopt(template_clone, tmp_path, "regression").stdout
    assert "nothing changed" in out
    assert git(template_clone, "status", "--porcelain") == ""


def test_a_refusal_writes_nothing(template_clone, tmp_path):
    git(template_clone, "add", "-A")
    git(template_clone, "commit", "-qm", "template")
    source = tmp_path / "t.csv"
    tables.binary().to_csv(source, index=False)
    proc = mlops(template_clone, "data", "adopt", str(source), "--target", "nope", check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error: --target nope: no such column")
    assert "Traceback" not in proc.stderr
    assert git(template_clone, "status", "--porcelain") == ""


def test_bad_data_after_adoption_is_stopped_naming_the_adopted_column(template_clone, tmp_path):
    _adopt(template_clone, tmp_path, "regression")
    table = template_clone / "data" / "regression.csv"
    lines = table.read_text().splitlines()
    fields = lines[1].split(",")
    fields[1] = "-999.0"  # sqm: far below the adopted range
    table.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    # no `dvc add` first: `dvc repro` commits the changed data source (data.dvc) itself
    proc = dvc(template_clone, "repro", check=False)
    assert proc.returncode != 0
    assert "column 'sqm': check in_range" in proc.stderr and "-999.0" in proc.stderr
    assert not (template_clone / paths.MODEL).exists()


def test_data_sample_puts_the_bundled_sample_back_exactly(template_clone, tmp_path):
    use_sample(template_clone, rows=None)  # the sample, whatever the workspace adopted
    git(template_clone, "add", "-A")
    git(template_clone, "commit", "-qm", "template")
    source = tmp_path / "small.csv"
    tables.multiclass(n=300).to_csv(source, index=False)  # fewer rows than validate.min_rows
    out = mlops(template_clone, "data", "adopt", str(source), "--target", "grade").stdout
    assert "validate.min_rows: 1000 -> 300" in out
    assert "contract.yaml" in git(template_clone, "status", "--porcelain")
    mlops(template_clone, "data", "sample")
    assert git(template_clone, "status", "--porcelain") == ""
