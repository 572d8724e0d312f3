"""The launcher's client: what the generated `python` and `dvc` shims run (standard library only,
started with `python -I -S` so a shim costs milliseconds). A call the server takes runs there and
this process exits with its code; anything else (another interpreter option, a module the server
does not preload, no server, a refusal) runs the real program, exactly as without the shims."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys

from tests.preload import wire

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def request(kind: str, args: list[str], programs: list[str], real: list[str]) -> dict | None:
    """What to ask the server for, when it preloads the program: a console script (`dvc`,
    `mlops`) runs as its shebang runs it; for `python` only the exact form `-m MODULE ARGS`."""
    if kind != "python":
        return {"script": real[0], "args": args} if real[0] in programs else None
    if len(args) >= 2 and args[0] == "-m" and any(_covers(p, args[1]) for p in programs):
        return {"module": args[1], "args": args[2:]}
    return None


def _covers(prefix: str, module: str) -> bool:
    return module == prefix or (prefix.endswith(".") and module.startswith(prefix))


def call(socket_path: str, program: dict) -> int | None:
    """Run ``program`` (request()) in a child of the server, with this process's cwd,
    environment and stdio; its exit code (negative: killed by that signal), or None when the
    server did not take it (nothing has run then)."""
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(socket_path)
    except OSError:
        return None
    with sock:
        umask = os.umask(0o022)
        os.umask(umask)
        whole = {**program, "cwd": os.getcwd(), "env": dict(os.environ), "umask": umask}
        try:
            wire.send_request(sock, whole, [0, 1, 2])
        except OSError:
            return None
        replies = wire.Replies(sock)
        first = replies.next()
        if first is None or "pid" not in first:
            return None
        previous = {sig: signal.signal(sig, _forward(first["pid"])) for sig in FORWARDED}
        try:
            last = replies.next()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if last is None:
        name = program.get("module") or program["script"]
        sys.stderr.write(f"preload: the server lost {name}'s exit status\n")
        return 1
    return last["exit"]


def _forward(pid: int):
    def handler(signum, _frame):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    return handler


def exit_like(code: int) -> None:
    """Leave as the program did: with its exit code, or killed by the same signal."""
    sys.stdout.flush()
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)


def shim(kind: str, routes: list[tuple[str, list[str]]], real: list[str]) -> None:
    """The shim's whole work: through the first server of ``routes`` (socket, the programs it
    preloads) that preloads the program, when it takes the call; else exec ``real`` (the venv's
    interpreter or script) with the same arguments."""
    args = sys.argv[1:]
    routed = ((path, request(kind, args, programs, real)) for path, programs in routes)
    socket_path, program = next(((p, r) for p, r in routed if r is not None), (None, None))
    if program is not None and os.environ.get("MLOPS_TEST_PRELOAD") != "0":
        code = call(socket_path, program)
        if code is not None:
            exit_like(code)
    os.execv(real[0], [*real, *args])
