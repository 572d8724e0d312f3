"""Starts the preload servers (tests.preload.server) for this pytest worker, one for DVC, the
pipeline's stages and the `mlops` console script, one for a one-worker `mlops serve`, and puts
generated `python`, `dvc` and `mlops` shims ahead of the venv's bin on PATH (and the `python`
shim in mlops.core.tools.PYTHON, with which the commands start DVC and servers), so `dvc`, the
`python -m mlops.stages.X` that `dvc repro` runs through the shell, and the servers the tests
start go through them. The servers start in the background: until they listen, and whenever
they cannot take a call, the shims run the real programs. MLOPS_TEST_PRELOAD=0 leaves
everything as without this plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mlops.core import tools

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What the first server preloads and takes: DVC (`python -m dvc` and its console script), the
# pipeline's stages and the `mlops` console script (but the commands that set what their
# imports read: tests.preload.server.Server.mlops_refusal).
SCRIPTS = [BIN / "dvc", BIN / "mlops"]
PROGRAMS = ["dvc", "mlops.stages.", *map(str, SCRIPTS)]
# And, by a second server (tests.preload.server SERVE_IMPORTS), `mlops serve --workers 1`,
# which the commands start (launcher.start) with mlops.core.tools.PYTHON: the `python` shim.
SERVE_PROGRAMS = ["mlops"]
SHIM = """#!{python} -IS
import sys
sys.path.insert(0, {root!r})
from tests.preload.client import shim
shim({kind!r}, {routes!r}, {real!r})
"""

_shims: Path | None = None
_server: subprocess.Popen | None = None


def enabled() -> bool:
    return os.environ.get("MLOPS_TEST_PRELOAD", "1") != "0"


def dvc_command() -> list[str]:
    """How the suite starts `dvc`: the shim while the launcher is on, else `python -m dvc`."""
    if _shims is not None and enabled():
        return [str(_shims / "python"), "-m", "dvc"]
    return [sys.executable, "-m", "dvc"]


def shims() -> Path | None:
    """The folder of this session's shims while the launcher is on."""
    return _shims if enabled() else None


def wait_ready(seconds: float, socket: str = "socket") -> bool:
    """Whether the server listens (waiting up to ``seconds`` for its imports); ``socket``:
    "serve.socket" for the server of `mlops serve`."""
    deadline = time.monotonic() + seconds
    while _shims is not None and _server.poll() is None and time.monotonic() < deadline:
        if (_shims.parent / socket).exists():
            return True
        time.sleep(0.1)
    return False


def server_log(name: str = "server.log") -> str:
    """What the server logged ("serve.log": the server of `mlops serve`)."""
    return (_shims.parent / name).read_text() if _shims is not None else ""


def write_shims(folder: Path, socket: Path, programs: list[str], scripts=(), more=()) -> Path:
    """A `python` shim, and one per console script in ``scripts`` (named as it is), in
    ``folder``: they send what ``programs`` cover to the server at ``socket`` (and what another
    server preloads to it: ``more``, (socket, programs) pairs)."""
    folder.mkdir(parents=True, exist_ok=True)
    routes = [(str(socket), programs), *((str(other), names) for other, names in more)]
    for kind, real in [("python", sys.executable), *((Path(s).name, str(s)) for s in scripts)]:
        path = folder / kind
        text = SHIM.format(
            python=sys.executable, root=str(ROOT), kind=kind, routes=routes, real=[real]
        )
        path.write_text(text)
        path.chmod(0o755)
    return folder


def start_server(socket: Path, programs: list[str], log: Path, *flags: str) -> subprocess.Popen:
    """The server, in the background, with this process's environment (it listens on
    ``socket`` once its imports are done)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.preload.server", str(socket), *flags, *programs],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _worth_it(items) -> bool:
    # The fast tier (`-m "not integration and not e2e"`) starts few of these programs: not
    # worth the server's seconds of imports.
    return any(item.get_closest_marker(m) for item in items for m in ("integration", "e2e"))


@pytest.fixture(scope="session", autouse=True)
def preload_server(request, isolated_git):
    """The server and shims for this worker's session (after tests.conftest's isolated HOME,
    which the server's imports read), when the session runs slow tests."""
    global _shims, _server
    if not enabled() or not _worth_it(request.session.items):
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="mlops-preload-"))
    socket, serve_socket = folder / "socket", folder / "serve.socket"
    _shims = write_shims(
        folder / "bin", socket, PROGRAMS, SCRIPTS, more=[(serve_socket, SERVE_PROGRAMS)]
    )
    saved = os.environ["PATH"], tools.PYTHON
    os.environ["PATH"] = f"{_shims}{os.pathsep}{saved[0]}"
    tools.PYTHON = str(_shims / "python")
    server = _server = start_server(socket, PROGRAMS, folder / "server.log")
    serving = start_server(serve_socket, SERVE_PROGRAMS, folder / "serve.log", "--flavor=serve")
    try:
        yield server
    finally:
        os.environ["PATH"], tools.PYTHON = saved
        _shims = None
        for process in (server, serving):
            stop_server(process)
        if keep := os.environ.get("MLOPS_TEST_PRELOAD_LOG"):  # what they ran and refused
            with open(keep, "a") as out:
                for log in ("server.log", "serve.log"):
                    out.write((folder / log).read_text())
        shutil.rmtree(folder, ignore_errors=True)
