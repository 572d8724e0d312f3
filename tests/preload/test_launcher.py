"""The preload launcher runs a program as a fresh process would: its exit code, its output on the
caller's stdout and stderr, the caller's cwd, environment and stdin, an uncaught exception's
traceback; and when the server cannot take a call, the real interpreter runs it. A server of its
own here preloads a few modules, not DVC, and runs tests.preload.probe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.preload import plugin

PROBE = "tests.preload.probe"
# Where the probe is, for the clients and the server; and the launcher on, whatever the
# session's MLOPS_TEST_PRELOAD (these tests are the launcher's own).
ENV = {"PYTHONPATH": str(plugin.ROOT), "MLOPS_TEST_PRELOAD": "1"}


SCRIPT = "#!{python}\nimport sys\nfrom tests.preload.probe import main\nsys.exit(main())\n"


@pytest.fixture(scope="module")
def launcher(tmp_path_factory):
    """(server process, the `python` shim that sends tests.preload.probe to it, the shim of a
    console script `probe` that runs the probe)."""
    folder = tmp_path_factory.mktemp("launcher")
    socket, script = folder / "socket", folder / "scripts" / "probe"
    script.parent.mkdir()
    script.write_text(SCRIPT.format(python=sys.executable))
    script.chmod(0o755)
    shims = plugin.write_shims(folder / "bin", socket, [PROBE, str(script)], [script])
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.preload.server", str(socket), "--imports=json,csv", PROBE,
         str(script)],
        cwd=folder, env={**os.environ, **ENV}, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not socket.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert socket.exists(), server.stderr.read() if server.poll() is not None else "no socket"
    yield server, shims / "python", shims / "probe"
    plugin.stop_server(server)


def probe(shim: Path, *args: str, cwd: Path, env: dict | None = None, **kwargs):
    command = [str(shim), "-m", PROBE] if shim.name.startswith("python") else [str(shim)]
    proc = subprocess.run(
        [*command, *args], cwd=cwd, env={**os.environ, **ENV, **(env or {})},
        capture_output=True, text=True, **kwargs,
    )  # fmt: skip
    seen = json.loads(proc.stdout.splitlines()[0]) if proc.stdout else {}
    return proc, seen


def _same_but_pids(seen: dict, expected: dict) -> bool:
    return {**seen, "parent": None, "pid": None} == {**expected, "parent": None, "pid": None}


def fresh(*args: str, cwd: Path, env: dict | None = None, **kwargs):
    """The same call with the real interpreter."""
    return probe(Path(sys.executable), *args, cwd=cwd, env=env, **kwargs)


@pytest.mark.parametrize("code", [0, 3, 255])
def test_the_exit_code_is_the_programs(launcher, tmp_path, code):
    server, shim, _ = launcher
    proc, seen = probe(shim, "exit", str(code), cwd=tmp_path)
    assert seen["parent"] == server.pid  # run by the server, not by a fallback
    assert proc.returncode == code


def test_output_cwd_env_and_argv_are_the_callers_as_in_a_fresh_process(launcher, tmp_path):
    server, shim, _ = launcher
    proc, seen = probe(shim, "x", "--flag", cwd=tmp_path, env={"PROBE": "from the caller"})
    expected_proc, expected = fresh("x", "--flag", cwd=tmp_path, env={"PROBE": "from the caller"})
    assert seen["parent"] == server.pid
    assert seen["cwd"] == seen["path0"] == str(tmp_path)
    assert seen["probe"] == "from the caller"
    assert seen["argv"][1:] == ["x", "--flag"] and seen["argv"][0].endswith("probe.py")
    assert _same_but_pids(seen, expected)
    assert proc.stderr == expected_proc.stderr == "probe on stderr\n"


def test_the_umask_is_the_callers(launcher, tmp_path):
    server, shim, _ = launcher
    _, seen = probe(shim, cwd=tmp_path, preexec_fn=lambda: os.umask(0o077))
    assert seen["parent"] == server.pid and seen["umask"] == 0o077


def test_a_variable_the_caller_does_not_have_is_not_seen(launcher, tmp_path):
    server, shim, _ = launcher
    env = {k: v for k, v in os.environ.items() if k != "PROBE"} | ENV
    proc = subprocess.run(
        [str(shim), "-m", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    seen = json.loads(proc.stdout.splitlines()[0])
    assert seen["parent"] == server.pid and seen["probe"] is None


def test_a_program_reading_stdin_gets_the_callers(launcher, tmp_path):
    server, shim, _ = launcher
    proc, seen = probe(shim, "stdin", cwd=tmp_path, input="rows\non stdin\n")
    assert seen["parent"] == server.pid
    assert seen["stdin"] == "rows\non stdin\n"
    assert proc.returncode == 0


def test_an_uncaught_exception_prints_its_traceback_and_gives_1(launcher, tmp_path):
    server, shim, _ = launcher
    proc, seen = probe(shim, "raise", cwd=tmp_path)
    assert seen["parent"] == server.pid
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.rstrip().endswith("ValueError: the probe raised")
    assert proc.stderr == fresh("raise", cwd=tmp_path)[0].stderr


def test_a_signal_to_the_caller_reaches_the_program(launcher, tmp_path):
    server, shim, _ = launcher
    client = subprocess.Popen(
        [str(shim), "-m", PROBE, "wait"], cwd=tmp_path, env={**os.environ, **ENV},
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert json.loads(client.stdout.readline())["parent"] == server.pid
    client.send_signal(signal.SIGTERM)
    assert client.wait(30) == -signal.SIGTERM  # the program was killed by it, as a fresh one
    client.stdout.close()


def test_a_caller_killed_outright_takes_its_program_with_it(launcher, tmp_path):
    # SIGKILL cannot be passed on: the server sees the caller's connection close and kills the
    # program and what it started (a server left running would hold its port).
    server, shim, _ = launcher
    client = subprocess.Popen(
        [str(shim), "-m", PROBE, "wait"], cwd=tmp_path, env={**os.environ, **ENV},
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen = json.loads(client.stdout.readline())
    assert seen["parent"] == server.pid
    client.kill()
    assert client.wait(30) == -signal.SIGKILL
    client.stdout.close()
    deadline = time.monotonic() + 30
    while _alive(seen["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(seen["pid"])


def _alive(pid: int) -> bool:
    """Whether ``pid`` is still running (a zombie the server has not reaped yet is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_a_module_of_a_preloaded_name_in_cwd_is_what_the_program_imports(launcher, tmp_path):
    shadow = "import sys\nsys.modules.pop('json')\nsys.path.pop(0)\nimport json\njson.SHADOW = 1\n"
    (tmp_path / "json.py").write_text(shadow)
    _, seen = probe(launcher[1], cwd=tmp_path)
    assert seen["parent"] == os.getpid()  # refused: a fresh interpreter ran it
    assert seen["json"] == 1


def test_a_different_interpreter_setting_is_refused_and_runs_fresh(launcher, tmp_path):
    proc, seen = probe(launcher[1], "exit", "4", cwd=tmp_path, env={"PYTHONHASHSEED": "7"})
    assert seen["parent"] == os.getpid()
    assert proc.returncode == 4


def test_without_the_server_the_real_interpreter_runs_it(tmp_path):
    shim = plugin.write_shims(tmp_path / "bin", tmp_path / "no-socket", [PROBE]) / "python"
    proc, seen = probe(shim, "stdin", cwd=tmp_path, env={"PROBE": "set"}, input="in")
    assert seen["parent"] == os.getpid()  # the shim exec'd the interpreter in its own place
    assert (seen["probe"], seen["stdin"], proc.returncode) == ("set", "in", 0)


def test_the_switch_turns_the_server_off(launcher, tmp_path):
    proc, seen = probe(launcher[1], cwd=tmp_path, env={"MLOPS_TEST_PRELOAD": "0"})
    assert seen["parent"] == os.getpid()
    assert proc.returncode == 0


def test_other_python_calls_run_the_real_interpreter(launcher, tmp_path):
    proc = subprocess.run(
        [str(launcher[1]), "-c", "import os; print(os.getppid())"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert int(proc.stdout) == os.getpid()


def test_a_console_script_runs_as_its_shebang_would(launcher, tmp_path):
    server, _, shim = launcher
    proc, seen = probe(shim, "exit", "5", cwd=tmp_path, env={"PROBE": "script"})
    real = Path(seen["argv"][0])
    expected_proc, expected = probe(real, "exit", "5", cwd=tmp_path, env={"PROBE": "script"})
    assert seen["parent"] == server.pid and expected["parent"] == os.getpid()
    assert seen["argv"] == [str(real), "exit", "5"] and seen["path0"] == str(real.parent)
    assert _same_but_pids(seen, expected)
    assert (proc.returncode, proc.stderr) == (expected_proc.returncode, expected_proc.stderr) == (
        5, "probe on stderr\n",
    )  # fmt: skip


def test_a_console_scripts_traceback_is_a_fresh_ones(launcher, tmp_path):
    server, _, shim = launcher
    proc, seen = probe(shim, "raise", cwd=tmp_path)
    expected_proc, _ = probe(Path(seen["argv"][0]), "raise", cwd=tmp_path)
    assert seen["parent"] == server.pid
    assert proc.returncode == expected_proc.returncode == 1
    assert proc.stderr == expected_proc.stderr


def test_a_terminal_on_stdout_is_refused_and_runs_fresh(launcher, tmp_path):
    # The server's streams were set up for pipes (buffering, colours): a fresh process decides.
    controller, terminal = os.openpty()
    try:
        proc = subprocess.run(
            [str(launcher[1]), "-m", PROBE], cwd=tmp_path, env={**os.environ, **ENV},
            stdout=terminal, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        seen = json.loads(os.read(controller, 65536).decode().splitlines()[0])
    finally:
        os.close(controller)
        os.close(terminal)
    assert proc.returncode == 0
    assert seen["parent"] == os.getpid()
