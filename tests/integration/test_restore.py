"""Setup restores the pinned data: from the remote, or regenerated and verified against data.dvc."""

import json
import shutil

import pytest

from mlops.data.sample import contract as sample_contract
from tests.adopt import tables
from tests.conftest import ROOT, dvc, mlops

pytestmark = pytest.mark.integration


def test_empty_remote_regenerates_verifies_and_pushes(sample_clone, tmp_path):
    out = mlops(sample_clone, "data", "restore").stdout
    assert "regenerat" in out and out.strip().endswith("data: regenerated")
    assert dvc(sample_clone, "status", "data.dvc", "--json").stdout.strip() in ("{}", "")
    assert any((tmp_path / "remote").rglob("*")), "the sample was not pushed to the remote"
    assert mlops(sample_clone, "data", "restore").stdout.strip() == "data: present"


def test_data_in_the_remote_is_pulled(sample_clone):
    mlops(sample_clone, "data", "restore")
    shutil.rmtree(sample_clone / "data")
    shutil.rmtree(sample_clone / ".dvc" / "cache")
    assert mlops(sample_clone, "data", "restore").stdout.strip().endswith("data: pulled")
    assert (sample_clone / sample_contract().data).is_file()


def test_regenerated_data_that_does_not_match_fails_loudly(sample_clone):
    params = sample_clone / "params.yaml"
    params.write_text(params.read_text().replace("rows: 20000", "rows: 19999"))
    proc = mlops(sample_clone, "data", "restore", check=False)
    assert proc.returncode == 2
    assert "does not match the md5 pinned in data.dvc" in proc.stderr
    assert "MLOPS_DVC_REMOTE" in proc.stderr and "Traceback" not in proc.stderr


def test_adopted_table_missing_from_the_remote_is_refused_not_replaced(template_clone, tmp_path):
    """A clone of a repository that adopted a table its DVC remote lacks (no `dvc push`, or the
    default remote, a folder inside the other clone): a clear refusal saying what to do, and no
    churn sample written under the adopted table's name."""
    source = tmp_path / "houses.csv"
    tables.regression().to_csv(source, index=False)
    adopted = mlops(template_clone, "data", "adopt", str(source), "--target", "price").stdout
    assert "dvc push" in adopted and "shared storage" in adopted
    shutil.rmtree(template_clone / "data")
    shutil.rmtree(template_clone / ".dvc" / "cache")
    proc = mlops(template_clone, "data", "restore", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "data/houses.csv" in proc.stderr and "dvc push" in proc.stderr
    assert not (template_clone / "data" / "houses.csv").exists()


def test_remote_from_environment_variable(sample_clone, tmp_path):
    elsewhere = tmp_path / "team-remote"
    mlops(sample_clone, "data", "restore", env={"MLOPS_DVC_REMOTE": str(elsewhere)})
    assert any(elsewhere.rglob("*"))


def test_committed_dvc_lock_matches_the_committed_code_and_params(template_clone):
    """A stale dvc.lock (code or params changed, no `dvc repro`) retrains on every new clone.
    Checks the workspace's own table: regenerated when it is the bundled sample, else copied
    from the workspace (an adopted table lives in the team's DVC remote)."""
    if (ROOT / "data").is_dir():
        shutil.copytree(ROOT / "data", template_clone / "data")
    else:
        mlops(template_clone, "data", "restore")
    status = json.loads(dvc(template_clone, "status", "--json").stdout or "{}")
    stale = {
        stage: change
        for stage, changes in status.items()
        for change in changes
        if isinstance(change, dict) and ("changed deps" in change or "changed command" in change)
    }
    for stage, change in stale.items():
        # outputs of upstream stages are absent in a fresh clone; only sources may not differ
        deps = {
            k: v
            for k, v in change.get("changed deps", {}).items()
            if not k.startswith(("artifacts/", "reports/"))
        }
        assert not deps and "changed command" not in change, f"{stage}: {change}"
