"""The in-process `mlops` (mlops.demos.inprocess: the tests and the demo use it) answers as
`python -m mlops` does, and leaves nothing behind: working directory, environment, argv,
loggers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from tests import cli_inprocess
from tests.conftest import mlops, run


def _both(cwd, *args):
    """(in this interpreter, in a new one) for the same command."""
    inside = cli_inprocess.run(list(args), cwd)
    outside = run([sys.executable, "-m", "mlops", *args], cwd, check=False)
    return inside, outside


@pytest.mark.parametrize(
    "args",
    [["--help"], ["data", "--help"], ["no-such-command"], ["versions", "--json"], ["status"]],
    ids=["help", "group help", "usage error", "not a git repository", "no models.yaml"],
)
def test_same_exit_code_and_output_as_a_new_interpreter(tmp_path, args):
    inside, outside = _both(tmp_path, *args)
    assert inside.returncode == outside.returncode
    assert inside.stdout == outside.stdout
    assert inside.stderr == outside.stderr
    assert "Traceback" not in inside.stderr


def test_nothing_leaks_into_the_next_call(tmp_path):
    cwd, env, argv = os.getcwd(), dict(os.environ), list(sys.argv)
    root_handlers = list(logging.getLogger().handlers)
    proc = cli_inprocess.run(["no-such-command"], tmp_path, env={"MLOPS_TEST_MARK": "1"})
    assert proc.returncode == 2
    assert os.getcwd() == cwd and dict(os.environ) == env and sys.argv == argv
    assert logging.getLogger().handlers == root_handlers
    assert "MLOPS_TEST_MARK" not in os.environ


def test_an_unexpected_exception_is_a_traceback_and_exit_1(tmp_path, monkeypatch):
    from mlops.data import adopt

    def broken(*args, **kwargs):
        subprocess.run(["echo", "from a child process"])  # inherits file descriptor 1
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(adopt, "adopt_sample", broken)
    proc = cli_inprocess.run(["data", "sample"], tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError: broken on purpose" in proc.stderr
    assert "from a child process" in proc.stdout


def test_servers_and_the_demo_run_in_a_subprocess(monkeypatch):
    assert cli_inprocess.in_process(["check", "--base", "main"])
    for args in (["serve", "--env", "staging"], ["serve-pinned"], ["demo"]):
        assert not cli_inprocess.in_process(args)
    monkeypatch.setenv("MLOPS_TEST_SUBPROCESS", "1")
    assert not cli_inprocess.in_process(["check"])


def test_the_helper_raises_with_what_the_command_printed(tmp_path):
    with pytest.raises(AssertionError, match="No such command"):
        mlops(tmp_path, "no-such-command")
    assert mlops(tmp_path, "no-such-command", check=False).returncode == 2


def test_the_demo_shows_what_a_new_interpreter_prints(tmp_path):
    """`make demo` runs its `mlops` commands in-process (mlops.demos.sandbox.sh): same output, and a
    failing one stops the story with its exit code and message."""
    from mlops.core import tools
    from mlops.demos import sandbox

    printed: list[str] = []
    sb = sandbox.Sandbox(tmp_path, log=printed.append)
    out = sandbox.sh(sb, "mlops", "--help", cwd=tmp_path)
    assert out == run([sys.executable, "-m", "mlops", "--help"], tmp_path).stdout.strip()
    assert printed[0] == "$ mlops --help" and printed[1].strip() == out
    with pytest.raises(tools.ToolError, match=r"`mlops no-such-command` failed \(exit 2\)"):
        sandbox.sh(sb, "mlops", "no-such-command", cwd=tmp_path)
    assert "Traceback" not in printed[-1] and "No such command" in printed[-1]
