"""Shared fixtures: real git, real DVC with a local remote, in temp dirs, isolated from the
user's own configuration (as gto's tests do)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = str(Path(sys.executable).parent)
SMALL_ROWS = 3000  # enough for both classes in every region, quick to train


def run(args: list[str], cwd: Path, check: bool = True, env: dict | None = None):
    """Run a command; on failure show what it printed."""
    proc = subprocess.run(
        args, cwd=cwd, text=True, capture_output=True, env={**os.environ, **(env or {})}
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def git(cwd: Path, *args: str) -> str:
    return run(["git", *args], cwd).stdout.strip()


def dvc(cwd: Path, *args: str, check: bool = True):
    return run([sys.executable, "-m", "dvc", *args], cwd, check=check)


def mlops(cwd: Path, *args: str, check: bool = True, env: dict | None = None):
    return run([sys.executable, "-m", "mlops", *args], cwd, check=check, env=env)


@pytest.fixture(scope="session", autouse=True)
def isolated_git(tmp_path_factory):
    """A HOME of our own with a .gitconfig, and no system config."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Author\n\temail = author@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    saved = {
        k: os.environ.get(k) for k in ("HOME", "GIT_CONFIG_NOSYSTEM", "PATH", "MLOPS_DVC_REMOTE")
    }
    os.environ.update(
        HOME=str(home), GIT_CONFIG_NOSYSTEM="1", PATH=BIN + os.pathsep + os.environ["PATH"]
    )
    os.environ.pop("MLOPS_DVC_REMOTE", None)
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def copy_template(dest: Path) -> Path:
    """Copy the files Git tracks (the template a team clones) into ``dest``."""
    from mlops.sandbox import copy_template as copy

    return copy(ROOT, dest)


def new_clone(dest: Path, remote: Path) -> Path:
    """The template as a new Git repository whose DVC remote is ``remote`` (no data yet)."""
    copy_template(dest)
    git(dest, "init", "-q")
    dvc(dest, "remote", "modify", "--local", "storage", "url", str(remote))
    return dest


def use_sample(dest: Path, rows: int | None = SMALL_ROWS) -> Path:
    """Give a template copy the bundled churn sample, its contract and gates (`mlops data
    sample`), whatever table the workspace has adopted: the machinery's tests run on data they
    make themselves. ``rows=None``: the full sample, as params.yaml ``sample`` makes it."""
    size = [] if rows is None else ["--rows", str(rows)]
    run([sys.executable, "-m", "mlops", "data", "sample", *size], dest)
    return dest


@pytest.fixture
def template_clone(tmp_path) -> Path:
    """The template as committed (whatever table it adopted), no data, no pipeline run yet, and
    an empty DVC remote."""
    return new_clone(tmp_path / "repo", tmp_path / "remote")


def pin_sample(dest: Path) -> Path:
    """The bundled sample's contract and data.dvc (the full sample, as a fresh clone of the
    template has them) but no data yet: what `mlops data restore` regenerates or pulls."""
    use_sample(dest, rows=None)
    shutil.rmtree(dest / "data")
    shutil.rmtree(dest / ".dvc" / "cache")
    return dest


@pytest.fixture
def sample_clone(template_clone) -> Path:
    return pin_sample(template_clone)


def init_repo(dest: Path, remote: Path, rows: int = SMALL_ROWS) -> Path:
    """A template repo with ``rows`` of sample data pinned in data.dvc and one commit."""
    new_clone(dest, remote)
    use_sample(dest, rows)
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "template with sample data")
    return dest


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory) -> Path:
    """Built once per session: the template with small data, `dvc repro` run and committed."""
    base = tmp_path_factory.mktemp("built")
    repo = init_repo(base / "repo", base / "remote")
    dvc(repo, "repro")
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "reproduce the pipeline")
    return repo


@pytest.fixture
def repo(built_repo, tmp_path) -> Path:
    """A private copy of ``built_repo`` (workspace, DVC cache and remote) for one test."""
    copy = tmp_path / "repo"
    shutil.copytree(built_repo, copy, symlinks=True)
    remote = tmp_path / "remote"
    shutil.copytree(built_repo.parent / "remote", remote)
    dvc(copy, "remote", "modify", "--local", "storage", "url", str(remote))
    return copy


def deploy_version(repo: Path, version: str, envs: tuple[str, ...] = ("production",)) -> None:
    """Register HEAD's model as ``churn-model@<version>`` (an annotated tag whose message is
    the version's metadata, as `mlops register` writes it) and pin it in models.yaml for
    ``envs``; commit the models.yaml change."""
    import json

    from mlops import models_file, registry

    metadata = registry.workspace_metadata(repo)
    git(repo, "tag", "-a", registry.tag_name("churn-model", version), "-m", json.dumps(metadata))
    text = (repo / "models.yaml").read_text()
    pin = models_file.Deployment(models_file.Pin(version, metadata["sha256"]))
    for env in envs:
        text = models_file.with_deployment(text, env, pin)
    (repo / "models.yaml").write_text(text)
    git(repo, "commit", "-qam", f"promote {version} to {', '.join(envs)}")


@pytest.fixture(scope="session")
def adopted(tmp_path_factory):
    """``adopted(task)``: a template copy that adopted a table of ``task`` (tests.adopted), built
    once per session; returns its folder (repo/, remote/, origin.git). Copy it before changing
    it: ``tests.adopted.private_copy``."""
    from tests.adopted import adopted_repo

    built: dict[str, Path] = {}

    def get(task: str) -> Path:
        if task not in built:
            built[task] = adopted_repo(tmp_path_factory.mktemp(f"adopted-{task}"), task).parent
        return built[task]

    return get
