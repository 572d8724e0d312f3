"""Setup restores the pinned data: from the remote, or regenerated and verified against data.dvc."""

import json
import shutil

import pytest

from mlops import paths
from tests.conftest import dvc, mlops

pytestmark = pytest.mark.integration


def test_empty_remote_regenerates_verifies_and_pushes(template_clone, tmp_path):
    out = mlops(template_clone, "data", "restore").stdout
    assert "regenerat" in out and out.strip().endswith("data: regenerated")
    assert dvc(template_clone, "status", "data.dvc", "--json").stdout.strip() in ("{}", "")
    assert any((tmp_path / "remote").rglob("*")), "the sample was not pushed to the remote"
    assert mlops(template_clone, "data", "restore").stdout.strip() == "data: present"


def test_data_in_the_remote_is_pulled(template_clone):
    mlops(template_clone, "data", "restore")
    shutil.rmtree(template_clone / "data")
    shutil.rmtree(template_clone / ".dvc" / "cache")
    assert mlops(template_clone, "data", "restore").stdout.strip().endswith("data: pulled")
    assert (template_clone / paths.DATA).is_file()


def test_regenerated_data_that_does_not_match_fails_loudly(template_clone):
    params = template_clone / "params.yaml"
    params.write_text(params.read_text().replace("rows: 20000", "rows: 19999"))
    proc = mlops(template_clone, "data", "restore", check=False)
    assert proc.returncode == 2
    assert "does not match the md5 pinned in data.dvc" in proc.stderr
    assert "MLOPS_DVC_REMOTE" in proc.stderr and "Traceback" not in proc.stderr


def test_remote_from_environment_variable(template_clone, tmp_path):
    elsewhere = tmp_path / "team-remote"
    mlops(template_clone, "data", "restore", env={"MLOPS_DVC_REMOTE": str(elsewhere)})
    assert any(elsewhere.rglob("*"))


def test_committed_dvc_lock_matches_the_committed_code_and_params(template_clone):
    """A stale dvc.lock (code or params changed, no `dvc repro`) retrains on every new clone."""
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
