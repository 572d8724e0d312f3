"""Which `mlops` commands the tests run in their own interpreter (mlops.demos.inprocess): all
but the servers and the demo, unless MLOPS_TEST_SUBPROCESS=1 asks for a new interpreter each
time (to compare, or to debug). The process boundary itself (`mlops --help`, `python -m mlops`, the
stages run by DVC, the servers) keeps its real-subprocess tests."""

from __future__ import annotations

import os

from mlops.demos.inprocess import run, runs_in_process

__all__ = ["in_process", "run"]


def in_process(args: list[str]) -> bool:
    return runs_in_process(args) and not os.environ.get("MLOPS_TEST_SUBPROCESS")
