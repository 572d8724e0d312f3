"""Run git and dvc as subprocesses, with errors a user can act on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlops.core.errors import MlopsError

# The interpreter that runs `python -m dvc` and `python -m mlops serve` for the commands: this
# one. (The test suite puts its preloading launcher here: tests/preload.)
PYTHON = sys.executable


class ToolError(MlopsError):
    """git or dvc failed; the message holds the command and what it printed."""


def _env() -> dict[str, str]:
    # Stages run as `python -m mlops.stages.X`: make sure `python` is this interpreter.
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    if env.get("PATH", "").split(os.pathsep)[0] != bindir:
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def run(
    args: list[str], cwd: str | Path = ".", check: bool = True, quiet: bool = True
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=_env(),
        text=True,
        errors="replace",  # a byte that is not UTF-8 (e.g. in a commit message) never raises
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.PIPE if quiet else None,
    )
    if check and proc.returncode != 0:
        output = ((proc.stderr or "") + (proc.stdout or "")).strip()
        raise ToolError(f"`{' '.join(args)}` failed (exit {proc.returncode}): {output[-2000:]}")
    return proc


def first_line(stderr: str) -> str:
    """The first meaningful line of git's message (what follows is often generic advice)."""
    for line in stderr.splitlines():
        text = line.strip().removeprefix("fatal:").removeprefix("error:").strip()
        if text:
            return text
    return "no output"


def dvc(*args: str, cwd: str | Path = ".", check: bool = True, quiet: bool = True):
    return run([PYTHON, "-m", "dvc", *args], cwd=cwd, check=check, quiet=quiet)


def git(*args: str, cwd: str | Path = ".", check: bool = True) -> str:
    return run(["git", *args], cwd=cwd, check=check).stdout.strip()


def run_bytes(
    args: list[str], cwd: str | Path = ".", stdin: str = ""
) -> subprocess.CompletedProcess:
    """Run a command that reads ``stdin`` and prints binary output (e.g. `git cat-file --batch`)."""
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=_env(),
        input=stdin.encode(),
        capture_output=True,
    )
    if proc.returncode != 0:
        raise ToolError(
            f"`{' '.join(args)}` failed (exit {proc.returncode}): {proc.stderr.decode()[-2000:]}"
        )
    return proc


def default_base(root: str | Path) -> str:
    """The branch holding the deployed state: origin/main, else main, else HEAD."""
    for rev in ("origin/main", "main"):
        proc = run(["git", "rev-parse", "--verify", "--quiet", rev], cwd=root, check=False)
        if proc.returncode == 0:
            return rev
    return "HEAD"
