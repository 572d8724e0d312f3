"""Every mlops process (commands, stages) lets waiting OpenMP threads sleep: spinning on a busy
machine tripled the train stage's time at a million rows (benchmarks/README.md), for the same
model bytes."""

import os
import subprocess
import sys

import pytest

PROBE = "import mlops.stages.train, os; print(os.environ['OMP_WAIT_POLICY'])"


def _policy(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_commands_and_stages_default_to_passive_waiting():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _policy(env) == "PASSIVE"


@pytest.mark.parametrize("chosen", ["ACTIVE", "passive"])
def test_a_policy_already_set_wins(chosen):
    assert _policy(os.environ | {"OMP_WAIT_POLICY": chosen}) == chosen
