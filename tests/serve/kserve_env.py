"""KServe's own Python SDK in a virtual environment of its own.

kserve pins pandas below 3, so it cannot be installed beside the project's locked environment.
The fixture builds a separate venv once with the project's uv, in ``.tools/`` (made by `make
setup`, ignored by Git), under a name keyed by the pinned versions: a second run reuses it, a
change of pin builds a new one. A failed install fails the tests that need it (never a skip).
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

KSERVE = "0.21.0"
NUMPY = importlib.metadata.version("numpy")  # the client's numpy is the server's
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
VENV = ROOT / ".tools" / f"kserve-client-{KSERVE}-numpy-{NUMPY}-py{PYTHON}"
UV = ROOT / ".tools" / "bin" / "uv"
DONE = "complete"  # written last: a venv without it was interrupted and is rebuilt


def _uv(*args: str) -> subprocess.CompletedProcess:
    # the tests run with a HOME of their own; uv's download cache is the user's real one.
    # --no-config: the project's uv settings are for its own environment; the one that matters
    # here, byte-compiling every installed file (5,600 files, ~15 s of CPU), would compile all
    # of kserve's dependencies where the client imports a fifth of them (warmed below)
    home = pwd.getpwuid(os.getuid()).pw_dir
    env = {**os.environ, "HOME": home}
    return subprocess.run([str(UV), "--no-config", *args], capture_output=True, text=True, env=env)


def _warm_imports() -> subprocess.CompletedProcess:
    """Import what the client imports once with bytecode writing on, so each client run loads
    compiled modules even where PYTHONDONTWRITEBYTECODE is set."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = "import httpx, numpy, kserve, kserve.protocol.infer_type"
    python = str(VENV / "bin" / "python")
    return subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)


def _build() -> None:
    shutil.rmtree(VENV, ignore_errors=True)
    steps = (
        ("uv venv", lambda: _uv("venv", "-q", "--python", PYTHON, str(VENV))),
        ("uv pip install", lambda: _uv("pip", "install", "-q", "--python",
                                       str(VENV / "bin" / "python"), f"kserve=={KSERVE}",
                                       f"numpy=={NUMPY}")),
        ("import kserve", _warm_imports),
    )  # fmt: skip
    for name, step in steps:
        done = step()
        if done.returncode != 0:
            pytest.fail(
                f"could not build KServe's client environment in {VENV} "
                f"({name} exit {done.returncode}); the KServe client tests "
                f"need PyPI or uv's cache to hold kserve=={KSERVE}:\n{done.stderr[-3000:]}",
                pytrace=False,
            )
    (VENV / DONE).write_text(f"kserve=={KSERVE} numpy=={NUMPY}\n")


@pytest.fixture(scope="session")
def kserve_python() -> Path:
    """The interpreter of a venv holding kserve (pinned) and the project's numpy."""
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make setup` first", pytrace=False)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f"{VENV.name}.lock", "w") as lock:  # one builder across workers
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (VENV / DONE).exists():
            _build()
    return VENV / "bin" / "python"
