"""Shared by the benchmark scripts: time a command the way a user runs it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mlops.core import tools


def sh(args: list[str], cwd: Path) -> float:
    """Run ``args`` in ``cwd`` (this interpreter first on PATH); return wall seconds."""
    start = time.perf_counter()
    tools.run(args, cwd=cwd)
    return time.perf_counter() - start


def dvc(cwd: Path, *args: str) -> float:
    return sh([sys.executable, "-m", "dvc", *args], cwd)


def mlops(cwd: Path, *args: str) -> float:
    return sh([sys.executable, "-m", "mlops", *args], cwd)
