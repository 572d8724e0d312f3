"""Fixtures for the GitOps loop: a repository with a bare origin, a DVC remote and two
registered versions (v1.0.0, v1.1.0), built once per session and copied per test."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

import pytest
import yaml

from mlops.formats import environments
from mlops.promotion import promote
from mlops.serve import launcher
from tests.conftest import built_once, dvc, git, mlops, point_dvc_remote, private_copy, run

TOKEN = "test-sync-token"


def retrain(repo: Path, max_iter: int, message: str, threshold: float | None = None) -> None:
    """Change a training param (and the decision threshold), reproduce, push the artifacts,
    commit."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    text = (repo / "params.yaml").read_text()
    hgb = params["train"]["hist_gradient_boosting"]
    text = text.replace(f"max_iter: {hgb['max_iter']}", f"max_iter: {max_iter}", 1)
    if threshold is not None:
        was = params["evaluate"]["threshold"]
        text = text.replace(f"threshold: {was}", f"threshold: {threshold}", 1)
    # the serving-latency budget is timed, not trained: few repeats keep the tests quick
    text = text.replace(
        f"latency_repeats: {params['evaluate']['latency_repeats']}", "latency_repeats: 3"
    )
    (repo / "params.yaml").write_text(text)
    dvc(repo, "repro")
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def relocate(src: Path, dest: Path) -> Path:
    """Copy a sandbox (repo, remote, origin.git) and point the copy at its own remotes."""
    return private_copy(src, dest)


# Gates for tests: 3,000 training rows and a loaded CI machine miss the template's real gates
# (tests of gate failures tighten them again).
TEST_GATES = {
    "min": {"roc_auc": 0.6},
    "max_regression": {"roc_auc": 0.1},
    "max_slice_gap": {"roc_auc": 0.5},
    "max_latency_ms_p95": 100000,
    "max_model_mb": 50,
}


def relax_gates(repo: Path) -> None:
    for env in ("staging", "production"):
        path = repo / "environments" / f"{env}.yaml"
        config = yaml.safe_load(path.read_text())
        config["gates"] = TEST_GATES
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    git(repo, "commit", "-qam", "tests: gates for a small sample")


def build_registered(built_repo: Path, base: Path) -> Path:
    repo = private_copy(built_repo.parent, base)
    run(["git", "init", "-q", "--bare", str(base / "origin.git")], base)
    git(repo, "remote", "add", "origin", str(base / "origin.git"))
    mlops(repo, "register")
    retrain(repo, 120, "retrain: other boosting rounds")
    mlops(repo, "register")
    relax_gates(repo)
    git(repo, "push", "-q", "origin", "main", "--tags")
    return base


@pytest.fixture(scope="session")
def registered_base(request, tmp_path_factory) -> Path:
    reuse = os.environ.get("MLOPS_TEST_REGISTERED_BASE")  # developer speedup: a base built before
    if reuse and Path(reuse, "repo").is_dir():
        return Path(reuse)
    built_repo = request.getfixturevalue("built_repo")
    build = lambda base: build_registered(built_repo, base)  # noqa: E731
    return built_once(tmp_path_factory, "registered", build)


@pytest.fixture
def promo(registered_base, tmp_path) -> Path:
    """A private repository with v1.0.0 and v1.1.0 registered and pushed to its bare origin."""
    return relocate(registered_base, tmp_path / "sandbox")


BAD_RETRAIN = "bad-retrain"


def build_bad_retrain(registered: Path, base: Path) -> Path:
    """The registered repository with a branch ``bad-retrain`` off main: a model retrained with
    3 boosting rounds and served at threshold 0.999 (it predicts no positive), its artifacts
    pushed to the DVC remote; main checked out again, workspace included."""
    repo = private_copy(registered, base)
    git(repo, "switch", "-q", "-c", BAD_RETRAIN, "main")
    retrain(repo, 3, "a bad retrain: 3 boosting rounds, threshold 0.999", threshold=0.999)
    git(repo, "switch", "-q", "main")
    dvc_checkout(repo)
    return base


@pytest.fixture(scope="session")
def bad_retrain_base(registered_base, tmp_path_factory) -> Path:
    build = lambda base: build_bad_retrain(registered_base, base)  # noqa: E731
    return built_once(tmp_path_factory, "bad-retrain", build)


@pytest.fixture
def bad_promo(bad_retrain_base, tmp_path) -> Path:
    """``promo`` with the branch ``bad-retrain`` (``build_bad_retrain``, built once per
    session): a retrained version in the DVC remote, without a `dvc repro` in the test."""
    return relocate(bad_retrain_base, tmp_path / "sandbox")


def dvc_checkout(repo: Path, *paths: str) -> None:
    """`dvc checkout [PATH...]`: the artifacts dvc.lock pins into the workspace (DVC's own
    checkout, in this process: no interpreter to start)."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        dvc_repo.checkout(targets=[str(repo / path) for path in paths] or None)


def merge_pr(repo: Path, branch: str, number: int, *, push: bool = True) -> str:
    """Merge ``branch`` into main the way GitHub's merge button does; push main to origin
    (unless ``push`` is false: a repository without one)."""
    git(repo, "switch", "-q", "main")
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        branch,
        "-m",
        f"Merge pull request #{number} from team/{branch}",
    )
    if push:
        git(repo, "push", "-q", "origin", "main")
    return git(repo, "rev-parse", "HEAD")


def _quiet_port(taken: list[int]) -> int:
    """A free port below the kernel's ephemeral range (neither ``bind(0)`` nor an outgoing
    connection is given one there), so it stays free for the whole session; each xdist worker
    draws from its own thousand ports."""
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 0
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = 20000 + 1000 * (int(worker or 0) % 10)
    candidates = random.sample(range(first, first + 1000), 1000)
    for port in candidates if first + 1000 <= ephemeral else []:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in taken:
            return port
    return launcher.free_port()


def _serve_on_quiet_ports(repo: Path) -> None:
    ports: list[int] = []
    for env in environments.names(repo):
        path = repo / "environments" / f"{env}.yaml"
        url = environments.load(env, repo).serving.url
        ports.append(_quiet_port(ports))
        path.write_text(path.read_text().replace(url, f"http://127.0.0.1:{ports[-1]}"))
    git(repo, "commit", "-qam", "serve on free ports")
    git(repo, "push", "-q", "origin", "main")


def _start(repo: Path, env: str):
    """``env``'s server in its own clone of origin, started without waiting for it."""
    clone = repo.parent / "servers" / env
    git(repo.parent, "clone", "-q", str(repo.parent / "origin.git"), str(clone))
    point_dvc_remote(clone, repo.parent / "remote")
    port = int(environments.load(env, repo).serving.url.rsplit(":", 1)[1])
    return launcher.start(clone, env, port, token=TOKEN, workers=1, sync_interval=3600, wait=False)


@pytest.fixture(scope="session")
def promoted(registered_base, tmp_path_factory) -> Path:
    """``promo`` serving on free ports (a commit pushed to main), then staging and production at
    v1.0.0, merged as PRs #1 and #2: built once per xdist worker, as its ports are this
    worker's (two copies serving at once would collide). Copy it before changing it."""
    repo = relocate(registered_base, tmp_path_factory.mktemp("promoted"))
    _serve_on_quiet_ports(repo)
    promote.promote(repo, "staging", "v1.0.0")
    merge_pr(repo, "promote/staging-v1.0.0", 1)
    promote.promote(repo, "production", "v1.0.0")
    merge_pr(repo, "promote/production-v1.0.0", 2)
    return repo.parent


@pytest.fixture
def live(promoted, tmp_path):
    """A copy of ``promoted`` (staging and production at v1.0.0, merged as PRs #1, #2) and both
    servers up, each in its own clone of origin, started side by side."""
    repo = relocate(promoted, tmp_path / "sandbox")
    servers = {}
    try:
        for env in ("staging", "production"):
            servers[env] = _start(repo, env)
        for server in servers.values():
            server.wait_started()
        yield repo, servers
    finally:
        for server in servers.values():
            server.stop()
