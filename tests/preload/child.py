"""What a forked child of the preload server does: become the client's process (cwd,
environment, stdio, argv, signal dispositions), run the program as `python -m MODULE` would, and
leave the way a fresh interpreter leaves (threads joined, atexit run, streams flushed)."""

from __future__ import annotations

import atexit
import builtins
import contextlib
import os
import runpy
import signal
import sys
import threading
import traceback
import types


def become(request: dict, fds: list[int], env_defaults: dict[str, str], own: list[str]) -> None:
    """Take the client's place (its stdio, cwd, umask, environment). ``env_defaults``: what
    the preloaded imports set in os.environ with setdefault (a fresh process would set them
    again); ``own``: the server's own modules, dropped so that a program importing a module of
    that name gets the client's."""
    for number, fd in enumerate(fds):
        os.dup2(fd, number)
        os.close(fd)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    for key, value in env_defaults.items():
        os.environ.setdefault(key, value)
    sys.path[0] = first_path(request)
    for name in own:
        sys.modules.pop(name, None)
    if "module" in request:
        sys.modules.pop(_executed(request["module"]), None)
    _reseed()


def first_path(request: dict) -> str:
    """sys.path[0] of a fresh `python -m MODULE` (the cwd) or `python SCRIPT` (its folder)."""
    if "module" in request:
        return request["cwd"]
    return os.path.dirname(os.path.realpath(request["script"]))


def _executed(module: str) -> str:
    """The module `python -m module` executes as __main__ (a package's __main__), which must not
    be in sys.modules already: runpy warns then, and its module-level code must run afresh."""
    loaded = sys.modules.get(module)
    return f"{module}.__main__" if hasattr(loaded, "__path__") else module


def _reseed() -> None:
    # Python's random reseeds itself in a forked child; numpy's global generator does not, and a
    # fresh process would have drawn a new seed.
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def run(request: dict) -> int:
    """``python -m MODULE ARGS`` or ``python SCRIPT ARGS`` (a console script, as its shebang
    runs it) in this process; the exit status a fresh interpreter gives."""
    sys.modules["__main__"] = main = types.ModuleType("__main__")  # not the server's
    try:
        if "module" in request:
            sys.argv = [request["module"], *request["args"]]  # runpy puts the file first
            runpy._run_module_as_main(request["module"])  # what `python -m` calls
        else:
            _run_script(main, request["script"], request["args"])
        code = 0
    except SystemExit as stop:
        code = _exit_code(stop.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = -signal.SIGINT
    except BaseException as error:  # a fresh interpreter prints any uncaught exception
        error.__traceback__ = error.__traceback__.tb_next  # without this module's frames
        if "script" in request:
            error.__traceback__ = error.__traceback__.tb_next
        sys.excepthook(type(error), error, error.__traceback__)
        code = 1
    return _finish(code)


def _run_script(main: types.ModuleType, path: str, args: list[str]) -> None:
    sys.argv = [path, *args]
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec")
    main.__dict__.update(__file__=path, __cached__=None, __builtins__=builtins)
    exec(code, main.__dict__)  # the program the caller named, as python runs it


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)
    return 1


def _finish(code: int) -> int:
    with contextlib.suppress(Exception):  # as at interpreter exit: never fatal
        threading._shutdown()  # a fresh interpreter waits for its non-daemon threads
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            code = code or 120  # what CPython exits with when flushing stdout fails
    return code


def exit_now(code: int) -> None:
    """Leave without the server's cleanup (its atexit, its socket)."""
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)
