"""The real pipeline with real DVC in a temp repo: outputs, reproducibility, bad data."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from mlops.core import paths
from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from mlops.formats.schema import write_table
from tests.conftest import dvc, git

pytestmark = pytest.mark.integration


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def lock_md5(repo: Path, out: str) -> str:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return next(
        o["md5"] for s in lock["stages"].values() for o in s.get("outs", []) if o["path"] == out
    )


METRIC_NAMES = (
    "roc_auc", "average_precision", "f1", "precision", "recall", "accuracy", "log_loss", "brier",
    "ece",
)  # fmt: skip
DATA = sample_contract().data


def test_repro_writes_every_report(built_repo):
    metrics = json.loads((built_repo / paths.METRICS).read_text())
    assert set(metrics) == {*METRIC_NAMES, "threshold"}  # auto: chosen on validation rows
    assert 0.7 < metrics["roc_auc"] <= 1 and 0 < metrics["threshold"] < 1
    baselines = json.loads((built_repo / paths.BASELINES).read_text())
    assert baselines["trivial"]["roc_auc"] == 0.5 and set(baselines["linear"]) >= set(METRIC_NAMES)
    slices = json.loads((built_repo / paths.SLICES).read_text())
    assert set(slices["slices"]) == set(sample_contract().by_name["region"].categories)
    assert all(set(METRIC_NAMES) <= set(s) for s in slices["slices"].values())
    serving = json.loads((built_repo / paths.SERVING).read_text())
    assert serving["model_mb"] > 0
    assert serving["latency_ms_1_row"]["p50"] <= serving["latency_ms_1_row"]["p95"]
    assert set(serving["latency_ms_100_rows"]) == {"p50", "p95"}
    assert serving["inference"] == "compiled"  # the budget times the path the server serves
    for plot in ("roc", "precision_recall", "confusion", "reliability"):
        assert json.loads((built_repo / paths.PLOTS / f"{plot}.json").read_text())
        assert (built_repo / paths.FIGURES / f"{plot}.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads(dvc(built_repo, "status", "--json").stdout) == {}


def test_model_file_stays_out_of_git(built_repo):
    tracked = git(built_repo, "ls-files").splitlines()
    assert paths.MODEL not in tracked and DATA not in tracked
    assert (built_repo / paths.MODEL).is_file()


def test_repro_from_scratch_twice_gives_the_same_model(repo):
    """The session's build is the first run; the second starts from nothing (no artifacts, no
    DVC cache, so no run cache) and runs every stage up to the model (evaluate and card only
    read it)."""
    first = md5(repo / paths.MODEL)
    assert first == lock_md5(repo, paths.MODEL)
    shutil.rmtree(repo / "artifacts")
    shutil.rmtree(repo / ".dvc" / "cache")
    out = dvc(repo, "repro", "--force", "train").stdout
    assert "Running stage 'train'" in out and "Running stage 'split'" in out
    assert md5(repo / paths.MODEL) == first


def test_a_param_change_reruns_only_what_depends_on_it(repo):
    params = repo / "params.yaml"
    params.write_text(re.sub(r"latency_repeats: \d+", "latency_repeats: 7", params.read_text()))
    out = dvc(repo, "repro").stdout
    assert "Running stage 'evaluate'" in out
    assert "Running stage 'train'" not in out and "Running stage 'split'" not in out
    # the threshold is part of the model (the server answers with the one the artifact carries)
    params.write_text(params.read_text().replace("threshold: auto", "threshold: 0.4"))
    out = dvc(repo, "repro").stdout
    assert "Running stage 'train'" in out and "Running stage 'split'" not in out
    assert json.loads((repo / paths.METRICS).read_text())["threshold"] == 0.4


def _tenure_as_text(df):
    df["tenure_months"] = df["tenure_months"].astype(str) + "m"


def _set(column, value, rows=5):
    def mutate(df):
        df.loc[df.index[:rows], column] = value

    return mutate


BAD_DATA = {
    "too many nulls": (_set("total_charges", None, rows=400), ["total_charges", "null share"]),
    "wrong dtype": (_tenure_as_text, ["tenure_months", "dtype('int64')"]),
    "unknown category": (_set("contract", "lifetime"), ["contract", "'lifetime'"]),
    "missing column": (
        lambda df: df.pop("payment_method"),
        ["payment_method", "column_in_dataframe"],
    ),
    "too few rows": (lambda df: df.drop(df.index[500:], inplace=True), ["min_rows=1000"]),
    "single-class target": (_set("churn", 0, rows=3000), ["every class"]),
    "out-of-range value": (
        _set("monthly_charges", 9999.0),
        ["monthly_charges", "in_range", "9999.0"],
    ),
}


@pytest.fixture
def sampled_clone(sampled_template, tmp_path) -> Path:
    """A copy of the template with the bundled sample's contract and gates (built once)."""
    return shutil.copytree(sampled_template, tmp_path / "repo", symlinks=True)


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_stops_the_pipeline_with_a_clear_message(sampled_clone, case):
    template_clone = sampled_clone
    mutate, expected = BAD_DATA[case]
    df = generate(3000, seed=9)
    mutate(df)
    write_table(df, template_clone / DATA)
    # no `dvc add` first: `dvc repro` commits the changed data source (data.dvc) itself
    proc = dvc(template_clone, "repro", check=False)
    assert proc.returncode != 0
    for text in expected:
        assert text in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (template_clone / paths.MODEL).exists()
    assert not (template_clone / paths.TRAIN).exists()
    assert json.loads((template_clone / paths.VALIDATION).read_text())["valid"] is False
