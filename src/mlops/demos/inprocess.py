"""Run an `mlops` command inside this interpreter, as `python -m mlops` runs it.

A new interpreter imports the model stack again for each command (2–3 s of CPU for those that score
a model); the demo and the tests run many commands in a row and need the same code path, not another
process. ``run`` runs the package's ``__main__`` (as `python -m mlops` does) with the arguments as
``sys.argv``, in ``cwd``, with ``env`` added to the environment, and returns a ``CompletedProcess``
as ``subprocess.run`` would: the exit code ``sys.exit`` gave, and what was printed, by the command
and by any process it started (file descriptors 1 and 2 are captured too). An exception the command
lets through becomes a traceback on stderr and exit 1, as in a new interpreter, with that
interpreter's warning filters. The working directory, the environment, ``sys.argv`` and the loggers'
handlers are put back afterwards, whatever happened.

Commands that start long-lived servers (``SUBPROCESS_ONLY``) must run as a subprocess.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

# `serve*` runs until stopped; `demo` sets XDG_CACHE_HOME for the rest of its process.
SUBPROCESS_ONLY = frozenset({"serve", "serve-pinned", "demo"})


def runs_in_process(args: list[str]) -> bool:
    """Whether ``run`` may run `mlops ARGS` (not a server, not the demo)."""
    first = next((arg for arg in args if not arg.startswith("-")), "")
    return first not in SUBPROCESS_ONLY


@contextlib.contextmanager
def _captured_fds() -> Iterator[list[str]]:
    """Point file descriptors 1 and 2 at temporary files (what child processes inherit); the
    list gets what was written to each once the block ends."""
    sys.stdout.flush(), sys.stderr.flush()
    texts: list[str] = []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            yield texts
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            for file in (out, err):
                file.seek(0)
                texts.append(file.read().decode(errors="replace"))


@contextlib.contextmanager
def _restored(cwd: Path, env: dict | None) -> Iterator[None]:
    saved_cwd, saved_env, saved_argv = os.getcwd(), dict(os.environ), sys.argv
    saved_main = sys.modules["__main__"]
    sys.modules["__main__"] = _as_python_m()
    loggers = {name: list(logger.handlers) for name, logger in _loggers()}
    logging.getLogger().handlers[:] = []  # a new interpreter's root logger has none
    os.chdir(cwd)
    os.environ.update(env or {})
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        sys.modules["__main__"] = saved_main
        for name, logger in _loggers():
            logger.handlers[:] = loggers.get(name, [])


def _as_python_m() -> types.ModuleType:
    """What ``__main__`` is under `python -m mlops` (click names the program after it)."""
    main = types.ModuleType("__main__")
    main.__package__ = "mlops"
    main.__file__ = str(Path(__file__).parents[1] / "__main__.py")
    return main


# A new interpreter's warning filters (no -W, no PYTHONWARNINGS), printing to stderr.
DEFAULT_IGNORED = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@contextlib.contextmanager
def _interpreter_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for category in DEFAULT_IGNORED:
            warnings.simplefilter("ignore", category)
        warnings.showwarning = warnings._showwarning_orig
        yield


def _loggers():
    yield "", logging.getLogger()
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            yield name, logger


def _exit_code(exc: SystemExit, err: io.StringIO) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=err)
    return 1


def run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`mlops ARGS` in ``cwd``, in this interpreter; see the module's docstring."""
    out, err = io.StringIO(), io.StringIO()
    with _restored(cwd, env), _captured_fds() as fds:
        sys.argv = [sys.modules["__main__"].__file__, *args]
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _interpreter_warnings(),
        ):
            try:
                # what `python -m mlops` runs: the package's __main__ (which calls the CLI), so
                # this module needs no import of the CLI it sits below
                runpy.run_module("mlops", run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as exc:
                code = _exit_code(exc, err)
            except Exception:  # what the interpreter would print, and its exit code
                traceback.print_exc(file=err)
                code = 1
    fd_out, fd_err = fds
    return subprocess.CompletedProcess(
        ["mlops", *args], code, out.getvalue() + fd_out, err.getvalue() + fd_err
    )
