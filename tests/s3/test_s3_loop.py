"""The register-to-serve loop against a real S3-compatible server on 127.0.0.1 (moto), and its
two faults: an object missing from the bucket and wrong credentials. Each gives one clear error,
and the live version keeps serving."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mlops.formats import environments
from mlops.serve import launcher
from tests.conftest import dvc, git, mlops, new_clone, pin_sample, run
from tests.promotion.conftest import dvc_checkout, merge_pr, relax_gates
from tests.serve.conftest import deploy as pin_on_main
from tests.serve.test_serve_swaps import RECORD

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("s3")]
TOKEN = "s3-sync-token"
TAG = "churn-model"


def test_data_restore_pushes_to_and_pulls_from_s3(s3, prefix, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_DVC_REMOTE", s3.url(prefix))
    first = pin_sample(new_clone(tmp_path / "first", tmp_path / "unused"))
    second = Path(shutil.copytree(first, tmp_path / "second", symlinks=True))  # another clone
    out = mlops(first, "data", "restore").stdout
    assert "pushed to the DVC remote" in out
    assert s3.keys(prefix), "nothing arrived in the bucket"
    assert not (second / "data").exists()
    assert "pulled data/ from the DVC remote" in mlops(second, "data", "restore").stdout
    assert (second / "data" / "churn.csv").read_bytes() == (
        first / "data" / "churn.csv"
    ).read_bytes()


def _remote_options(repo: Path, **options: str | None) -> None:
    """`dvc remote modify --local storage OPTION VALUE` (None: `--unset`) for each option, with
    DVC's own config writer (what the command runs), in this process."""
    from dvc.config import Config

    config = Config(str(repo / ".dvc"))
    with config.edit("local") as conf:
        section = conf["remote"].setdefault("storage", {})
        for option, value in options.items():
            if value is None:
                section.pop(option, None)
            else:
                section[option] = value


@pytest.fixture
def s3_repo(registered_base, s3, prefix, tmp_path) -> Path:
    """The built template (the commit v1.0.0 of the registered repository was built from, its
    tags gone) with its DVC remote in the bucket, a bare origin, staging on a free port, and
    v1.0.0 registered by `mlops register`. The branch ``retrain`` holds a retrained model (the
    registered repository's v1.1.0, built once per session) that the bucket does not hold."""
    repo = Path(shutil.copytree(registered_base / "repo", tmp_path / "repo", symlinks=True))
    built, retrained = (
        git(repo, "rev-parse", f"{TAG}@{v}^{{commit}}") for v in ("v1.0.0", "v1.1.0")
    )
    git(repo, "branch", "-q", "retrain", retrained)
    git(repo, "tag", "-d", f"{TAG}@v1.0.0", f"{TAG}@v1.1.0")
    git(repo, "remote", "remove", "origin")
    git(repo, "reset", "-q", "--hard", built)
    dvc_checkout(repo)
    _remote_options(repo, url=s3.url(prefix))
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        dvc_repo.push()  # the workspace's outputs, v1.0.0's: not the branch's model
    relax_gates(repo)
    path = repo / "environments" / "staging.yaml"
    url = environments.load("staging", repo).serving.url
    path.write_text(path.read_text().replace(url, f"http://127.0.0.1:{launcher.free_port()}"))
    git(repo, "commit", "-qam", "serve staging on a free port")
    run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], tmp_path)
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    assert "registered churn-model@v1.0.0" in mlops(repo, "register").stdout
    git(repo, "push", "-q", "origin", "main", "--tags")
    return repo


def _server(repo: Path, url: str):
    clone = repo.parent / "server"
    git(repo.parent, "clone", "-q", str(repo.parent / "origin.git"), str(clone))
    _remote_options(clone, url=url)
    port = int(environments.load("staging", repo).serving.url.rsplit(":", 1)[1])
    return clone, launcher.start(clone, "staging", port, token=TOKEN, workers=1, sync_interval=3600)


def _deploy(repo: Path, env: dict | None = None, check: bool = True):
    cache = {"XDG_CACHE_HOME": str(repo.parent / "deploy-cache")}
    return mlops(
        repo, "deploy", "--env", "staging", "--wait", "60", check=check,
        env={"MLOPS_SYNC_TOKEN": TOKEN, **cache, **(env or {})},
    )  # fmt: skip


def _serves(server) -> str:
    return server.predict([RECORD])["model_version"]


def test_register_check_deploy_serve_from_s3_and_its_faults(s3_repo, s3, prefix):
    repo = s3_repo
    mlops(repo, "promote", "staging", "v1.0.0")  # runs `mlops check`: the remote check asks S3
    merge_pr(repo, "promote/staging-v1.0.0", 1)
    clone, server = _server(repo, s3.url(prefix))
    with server:
        # the server's clone has an empty DVC cache: v1.0.0 came from the bucket
        assert _serves(server) == "v1.0.0" and server.version()["sync"] == "Synced"
        assert "nothing to do" in _deploy(repo).stdout

        # a retrained model merged (its branch built once per session), and `dvc push` sends
        # it to the bucket
        merge_pr(repo, "retrain", 2, push=False)
        dvc_checkout(repo)
        dvc(repo, "push")
        assert "registered churn-model@v1.1.0" in mlops(repo, "register").stdout
        git(repo, "push", "-q", "origin", "main", "--tags")
        md5 = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["train"]["outs"][0]["md5"]
        [key] = [k for k in s3.keys(prefix) if k.endswith(md5[2:])]

        # 1. the object is missing from the bucket
        s3.client().delete_object(Bucket=s3.bucket, Key=key)
        refused = mlops(repo, "promote", "staging", "v1.1.0", check=False)
        assert refused.returncode == 1
        assert "churn-model@v1.1.0: artifact artifacts/model.skops" in refused.stderr
        assert "is not in the DVC remote; run `dvc push`" in refused.stderr
        git(repo, "switch", "-q", "main")
        pin_on_main(repo, "staging", "v1.1.0")  # merged anyway: deploy and the server refuse it
        out = _deploy(repo, check=False)
        assert out.returncode != 0
        assert "is not in the DVC remote" in out.stderr and "Nothing was deployed" in out.stderr
        view = server.sync()
        assert view["sync"] == "Degraded" and view["stable"]["version"] == "v1.0.0"
        # the server runs the same check before applying: the same refusal, by name
        assert "is not in the DVC remote; run `dvc push`" in view["reason"]
        assert _serves(server) == "v1.0.0"

        # 2. wrong credentials: for the deploy job, then for the server
        dvc(repo, "push")  # what the message said to do: the object is back
        wrong = {"AWS_ACCESS_KEY_ID": "AKIAWRONG", "AWS_SECRET_ACCESS_KEY": "wrong"}
        out = _deploy(repo, env=wrong, check=False)
        assert out.returncode != 0
        assert "the DVC remote refused access" in out.stderr and "AWS_ACCESS_KEY_ID" in out.stderr
        assert "Nothing was deployed" in out.stderr
        checked = mlops(repo, "check", "--base", "HEAD~1", check=False, env=wrong)
        assert checked.returncode == 1 and "the DVC remote refused access" in checked.stdout
        _remote_options(clone, access_key_id="wrong", secret_access_key="wrong")
        out = _deploy(repo, check=False)
        assert out.returncode != 0 and "Degraded" in out.stderr
        assert "the DVC remote refused access" in out.stderr
        assert "keeps serving v1.0.0" in out.stderr
        assert _serves(server) == "v1.0.0"

        # fixed: the same deploy goes through
        _remote_options(clone, access_key_id=None, secret_access_key=None)
        _deploy(repo)
        assert _serves(server) == "v1.1.0" and server.version()["sync"] == "Synced"
