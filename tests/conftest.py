"""Shared fixtures: real git, real DVC with a local remote, in temp dirs, isolated from the
user's own configuration (as gto's tests do).

Expensive state (a reproduced repository, registered versions, an adopted table) is built once
per test session by ``built_once``, whatever the number of xdist workers, and copied: each
worker gets its own copy, each test that changes it another (``private_copy``). A fixture of
your own that runs `dvc repro` should do the same.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

pytest_plugins = ["tests.xdist_groups", "tests.preload.plugin"]

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
    """`dvc ARGS` in ``cwd`` (through the preload launcher while it is on: tests.preload)."""
    from tests.preload import plugin

    return run([*plugin.dvc_command(), *args], cwd, check=check)


def mlops(cwd: Path, *args: str, check: bool = True, env: dict | None = None):
    """`mlops ARGS` in ``cwd``: in this interpreter (tests.cli_inprocess: the same code, its
    output and exit code, without starting Python and importing the model stack again), as a
    subprocess for the commands that start servers, or for all with MLOPS_TEST_SUBPROCESS=1."""
    from tests import cli_inprocess

    if not cli_inprocess.in_process(list(args)):
        return run([sys.executable, "-m", "mlops", *args], cwd, check=check, env=env)
    proc = cli_inprocess.run(list(args), cwd, env)
    if check and proc.returncode != 0:
        raise AssertionError(f"mlops {args} exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


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
    from mlops.demos.sandbox import copy_template as copy

    return copy(ROOT, dest)


def new_clone(dest: Path, remote: Path) -> Path:
    """The template as a new Git repository whose DVC remote is ``remote`` (no data yet)."""
    copy_template(dest)
    git(dest, "init", "-q")
    point_dvc_remote(dest, remote)
    return dest


def use_sample(dest: Path, rows: int | None = SMALL_ROWS) -> Path:
    """Give a template copy the bundled churn sample, its contract and gates (`mlops data
    sample`), whatever table the workspace has adopted: the machinery's tests run on data they
    make themselves. ``rows=None``: the full sample, as params.yaml ``sample`` makes it."""
    size = [] if rows is None else ["--rows", str(rows)]
    mlops(dest, "data", "sample", *size)
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


def _sampled(base: Path) -> None:
    repo = copy_template(base / "repo")
    git(repo, "init", "-q")
    use_sample(repo)


@pytest.fixture(scope="session")
def sampled_template(tmp_path_factory) -> Path:
    """The template in a new Git repository (nothing committed) with the bundled sample's
    SMALL_ROWS rows, contract and gates (`mlops data sample`): built once per session; copy it
    before changing it."""
    return built_once(tmp_path_factory, "sampled", _sampled) / "repo"


@pytest.fixture
def sample_clone(template_clone) -> Path:
    return pin_sample(template_clone)


# Fewer boosting rounds and serving-latency repeats than params.yaml's: the machinery, not the
# model, is under test, and the latency budget is timed, not trained.
QUICK = {"max_iter": 40, "latency_repeats": 5}


def quick_params(repo: Path) -> None:
    """``QUICK`` in ``repo``'s params.yaml, edited as text so its comments stay."""
    path = repo / "params.yaml"
    text = path.read_text()
    params = yaml.safe_load(text)
    current = {"max_iter": params["train"]["hist_gradient_boosting"]["max_iter"],
               "latency_repeats": params["evaluate"]["latency_repeats"]}  # fmt: skip
    for key, value in QUICK.items():  # hist_gradient_boosting's max_iter comes first
        text = re.sub(rf"\b{key}: {current[key]}\b", f"{key}: {value}", text, count=1)
    path.write_text(text)
    params = yaml.safe_load(text)
    assert params["train"]["hist_gradient_boosting"]["max_iter"] == QUICK["max_iter"]
    assert params["evaluate"]["latency_repeats"] == QUICK["latency_repeats"]


def init_repo(dest: Path, remote: Path, rows: int = SMALL_ROWS) -> Path:
    """A template repo with ``rows`` of sample data pinned in data.dvc, ``QUICK`` training
    settings and one commit."""
    new_clone(dest, remote)
    use_sample(dest, rows)
    quick_params(dest)
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "template with sample data")
    return dest


LOCAL_REMOTE = re.compile(r"\['remote \"storage\"'\]\n    url = [^\n]*\n")


def point_dvc_remote(repo: Path, url: Path) -> None:
    """`dvc remote modify --local storage url URL`; written directly (what DVC writes) when
    that is all the local config holds, which saves starting DVC for every copy."""
    config = repo / ".dvc" / "config.local"
    if config.exists() and not LOCAL_REMOTE.fullmatch(config.read_text()):
        dvc(repo, "remote", "modify", "--local", "storage", "url", str(url))
        return
    config.write_text(f"['remote \"storage\"']\n    url = {url}\n")


def private_copy(base: Path, dest: Path) -> Path:
    """Copy a built folder (``repo/`` and, where present, ``remote/`` (DVC) and ``origin.git``)
    into ``dest`` and point the copy at its own remotes; the copied repo."""
    for name in ("repo", "remote", "origin.git"):
        if (base / name).exists():
            shutil.copytree(base / name, dest / name, symlinks=True)
    repo = dest / "repo"
    if (repo / ".dvc" / "config.local").exists():  # the copy's own remote, even an empty one
        point_dvc_remote(repo, dest / "remote")
    if (dest / "origin.git").exists():
        git(repo, "remote", "set-url", "origin", str(dest / "origin.git"))
    return repo


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """``build(folder)`` once per test session, shared by the xdist workers (the first builds it
    under a file lock, the others wait); each caller gets its own ``private_copy`` of it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = factory.getbasetemp().parent if worker else factory.getbasetemp()
    folder, done = shared / "built-once" / name, shared / "built-once" / f"{name}.done"
    folder.parent.mkdir(exist_ok=True)
    with open(shared / "built-once" / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            build(folder)
            pack_git(folder)
            done.touch()
    return private_copy(folder, factory.mktemp(name)).parent


def pack_git(folder: Path) -> None:
    """Pack the loose objects of the Git repositories a build made: a repository made from the
    template holds a thousand loose object files, and every copy of the build copied each one
    (a third of the suite's system time); one pack holds the same objects."""
    for git_dir in [*folder.glob("*/.git"), *folder.glob("*.git")]:
        run(["git", "--git-dir", str(git_dir), "repack", "-a", "-d", "-q"], folder)


def _reproduced(base: Path) -> None:
    repo = init_repo(base / "repo", base / "remote")
    dvc(repo, "repro")
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "reproduce the pipeline")


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory) -> Path:
    """The template with small data, `dvc repro` run, pushed to ``remote/`` next to it and
    committed: built once per session, this worker's copy. Copy it before changing it."""
    return built_once(tmp_path_factory, "built", _reproduced) / "repo"


@pytest.fixture(scope="session", autouse=True)
def prebuilt(request, tmp_path_factory, isolated_git) -> None:
    """With two xdist workers, the second builds the shared repositories the collected tests
    need (reproduced, registered, served) before its first test, while the first works on
    tests that build their own: otherwise both reach the first test that needs one at about the
    same time and one of them waits, idle, for the other's build."""
    if os.environ.get("PYTEST_XDIST_WORKER") != "gw1":
        return
    needed = set().union(*(item.fixturenames for item in request.session.items))
    if not needed & {"built_repo", "repo", "registered_base", "promo", "versions_repo"}:
        return
    built = built_once(tmp_path_factory, "built", _reproduced)
    if "registered_base" in needed and not os.environ.get("MLOPS_TEST_REGISTERED_BASE"):
        from tests.promotion.conftest import build_registered

        built_once(
            tmp_path_factory, "registered", lambda base: build_registered(built / "repo", base)
        )
    if "versions_repo" in needed:
        from tests.serve.conftest import build_versions

        built_once(tmp_path_factory, "served", lambda base: build_versions(base, built))


@pytest.fixture
def repo(built_repo, tmp_path) -> Path:
    """A private copy of ``built_repo`` (workspace, DVC cache and remote) for one test."""
    return private_copy(built_repo.parent, tmp_path)


def deploy_version(repo: Path, version: str, envs: tuple[str, ...] = ("production",)) -> None:
    """Register HEAD's model as ``churn-model@<version>`` (an annotated tag whose message is
    the version's metadata, as `mlops register` writes it) and pin it in models.yaml for
    ``envs``; commit the models.yaml change."""
    import json

    from mlops.formats import models_file
    from mlops.model import registry

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
            build = lambda base: adopted_repo(base, task)  # noqa: E731
            built[task] = built_once(tmp_path_factory, f"adopted-{task}", build)
        return built[task]

    return get


# A test that needs one of these (directly or through another fixture) works on a reproduced
# repository or a server: it is an integration test even without the mark, and `make test-fast`
# leaves it out. Everything else must stay quick: no `dvc repro`, no server.
EXPENSIVE_FIXTURES = frozenset(
    {"built_repo", "repo", "adopted", "registered_base", "promo", "versions_repo", "served_repo",
     "deployed_repo", "s3_store"}
)  # fmt: skip


def _slow(item) -> bool:
    return any(item.get_closest_marker(name) for name in ("e2e", "integration"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not _slow(item) and EXPENSIVE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    # Slow tests first, in folder order (tests/adopt builds its own repositories while the other
    # worker builds the shared ones), the quick ones last: xdist hands out one test at a time, so
    # a worker done with its last slow test fills the tail with quick ones instead of idling
    # while the other finishes a long chain.
    items.sort(key=lambda item: not _slow(item))
