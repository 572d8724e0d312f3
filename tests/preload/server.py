"""The preload server: a fresh interpreter that imports the programs' modules once, listens on a
Unix socket and forks a child per request (tests.preload.child). It starts no thread of its own;
the only threads at a fork are the native pools numpy's OpenBLAS and pyarrow's jemalloc start at
import, which both stop or re-arm themselves across fork (pthread_atfork).

A request is refused (the client then runs the real program) when a fresh process could behave
differently from a preloaded child: a module it does not preload, a terminal on the stdio (the
streams were set up for pipes), a different value of an environment variable read while
importing (or one the native libraries read when loaded), or a module of a preloaded name in the
client's cwd (which a fresh `python -m` would import instead).

Usage: python -m tests.preload.server SOCKET [--flavor=serve] [--imports=A,B] PROGRAM... (log
on stderr). A PROGRAM is a module (`python -m` it), a prefix ending in "." (the modules under it)
or a console script's path (run as its shebang runs it); --flavor=serve preloads SERVE_IMPORTS
instead of IMPORTS, --imports replaces them (the launcher's tests)."""

from __future__ import annotations

import contextlib
import importlib
import os
import selectors
import signal
import socket
import sys
import time

from tests.preload import child, wire

# Read by native libraries or the interpreter when loaded: not seen by os.environ. And the
# prefixes the code in SCANS looks for when it scans the environment at import.
PINNED_PREFIXES = ("PYTHON", "OMP_", "GOMP_", "KMP_", "OPENBLAS_", "MKL_", "LC_", "XDG_",
                   "TQDM_", "FSSPEC_", "NETWORKX_")  # fmt: skip
SCANS = ("/tqdm/utils.py:", "/fsspec/config.py:", "/networkx/utils/backends.py:")
PINNED = {"LANG", "LANGUAGE", "TZ", "HOME", "DVC_SHOW_TRACEBACK"}
# Reads that leave nothing behind: (key, where it was read). COLUMNS and LINES by the throwaway
# formatter argparse's add_argument makes while DVC's parser is built; PATH by matplotlib to run
# fc-list when its font cache (under HOME, pinned) is missing: a fresh process reads the cache
# it wrote.
NOT_KEPT = {("COLUMNS", "dvc/"), ("LINES", "dvc/"), ("PATH", "matplotlib/font_manager.py")}

# DVC's and the stages' modules, and what they import lazily on a run (DVC's repo index and
# graph, skops, pyarrow, matplotlib...); `dvc exp` (celery) is left out. The stage modules
# themselves are re-run as __main__ in each child; importing them here loads what they import.
IMPORTS = (
    "dvc.cli", "dvc.repo", "dvc.repo.reproduce", "dvc.stage", "dvc_data.index", "dvc.repo.index",
    "dvc.repo.graph", "dvc.repo.trie", "dvc.repo.worktree", "dvc.repo.brancher", "dvc.repo.stage",
    "dvc.repo.metrics.show", "dvc.repo.params.show", "dvc.repo.plots", "dvc.repo.open_repo",
    "dvc.cachemgr", "dvc.data_cloud", "dvc.lock", "dvc.rwlock", "dvc.scm", "dvc.utils.strictyaml",
    "dvc_data.index.checkout", "dvc_data.index.push", "dvc_data.index.fetch", "dvc_data.fs",
    "dvc_data.hashfile.db.local", "dvc_data.hashfile.status", "networkx", "ruamel.yaml",
    "scmrepo.git",
    "mlops.stages.validate", "mlops.stages.split", "mlops.stages.train", "mlops.stages.evaluate",
    "mlops.stages.card", "mlops.cli", "skops.io", "pyarrow.parquet", "matplotlib.pyplot",
    "PIL.PngImagePlugin",
)  # fmt: skip


# `mlops serve --workers 1`, by a server of its own: what the command imports before it takes a
# request, less prometheus_client (mlops.serve.metrics and the modules that import it), which
# reads at import the PROMETHEUS_MULTIPROC_DIR the command sets first; and OMP_NUM_THREADS as
# the command sets it before its first import of scikit-learn (OpenMP reads it once, when
# loaded), which is why the pipeline's server cannot take it.
SERVE_IMPORTS = (
    "mlops.cli", "mlops.serve.server", "mlops.serve.controller", "mlops.serve.pinned",
    "mlops.serve.loading", "mlops.serve.validation", "mlops.serve.openapi", "mlops.serve.limits",
    "mlops.serve.predlog_writer", "mlops.serve.coordination", "mlops.serve.batcher",
    "mlops.serve.routing", "mlops.data.restore", "fastapi", "fastapi.responses", "orjson",
    "uvicorn", "uvicorn.config", "uvicorn.server", "uvicorn.lifespan.on", "httpx",
)  # fmt: skip
SERVE_DEFAULTS = {"OMP_NUM_THREADS": "1"}
# Imported by a program after it set the environment they read at import: never preloaded.
FRESH_ONLY = ("prometheus_client",)
FLAVORS = {"pipeline": (IMPORTS, {}), "serve": (SERVE_IMPORTS, SERVE_DEFAULTS)}


class EnvReads:
    """The os.environ keys looked up while ``with`` is open, and where it was iterated (code
    that scans the environment for a prefix: each such place must be in SCANS)."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}  # key: where it was first read
        self.scans: set[str] = set()

    def __enter__(self) -> EnvReads:
        cls, reads = type(os.environ), self
        self.saved = cls.__getitem__, cls.__iter__

        def getitem(mapping, key):
            where = _caller()
            if where not in reads.scans:  # a scan's reads are not lookups
                reads.keys.setdefault(os.fsdecode(key), where)  # os.environb's too
            return reads.saved[0](mapping, key)

        def iterate(mapping):
            reads.scans.add(_caller())
            return reads.saved[1](mapping)

        cls.__getitem__, cls.__iter__ = getitem, iterate
        return self

    def __exit__(self, *exc) -> None:
        type(os.environ).__getitem__, type(os.environ).__iter__ = self.saved


def _caller() -> str:
    """Where the code that touched os.environ is (past the standard library's mapping code)."""
    frame = sys._getframe(2)
    while frame.f_code.co_filename.startswith(("<frozen", os.path.dirname(os.__file__))):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


class Server:
    def __init__(
        self, programs: list[str], imports: tuple[str, ...] = IMPORTS, defaults: dict | None = None
    ) -> None:
        self.programs = programs
        self.serving = imports == SERVE_IMPORTS
        self.own = [name for name in sys.modules if name == "tests" or name.startswith("tests.")]
        self.start_env = dict(os.environ)
        for key, value in (defaults or {}).items():  # as the program sets them before these imports
            os.environ.setdefault(key, value)
        with EnvReads() as reads:
            for name in imports:
                importlib.import_module(name)
            if "dvc.cli" in sys.modules:
                from dvc.cli.parser import get_main_parser

                get_main_parser()  # imports every DVC command's module
        if early := [name for name in FRESH_ONLY if name in sys.modules]:
            sys.exit(f"preload: {early} must not be preloaded; see FRESH_ONLY")
        unknown = [where for where in reads.scans if not any(s in where for s in SCANS)]
        if unknown:  # what it looks for is not pinned: better no server than a wrong child
            sys.exit(f"preload: the environment is scanned at import by {unknown}; see SCANS")
        self.read = {
            key: where
            for key, where in reads.keys.items()
            if not any(key == k and f"/{place}" in where for k, place in NOT_KEPT)
        }
        self.env_defaults = {k: v for k, v in os.environ.items() if k not in self.start_env}
        os.environ.clear()
        os.environ.update(self.start_env)
        self.top_level = {name.split(".")[0] for name in sys.modules} - {"__main__", "tests"}
        self.live: dict[int, socket.socket] = {}

    def refusal(self, request: dict, fds: list[int]) -> str | None:
        """Why a fresh process could differ from a child of this server; None when it cannot."""
        if not self.takes(request):
            return f"{_program(request)} is not preloaded"
        if _program(request) == "mlops" and (why := self.mlops_refusal(request["args"])):
            return why
        if len(fds) != wire.STDIO or any(os.isatty(fd) for fd in fds):
            return "stdio is a terminal or missing"
        # As the imports saw them: the environment plus what the imports set by default.
        env = {**self.env_defaults, **request["env"]}
        loaded = {**self.env_defaults, **self.start_env}
        keys = {k for k in {*env, *loaded} if k.startswith(PINNED_PREFIXES)}
        for key in {*self.read, *PINNED, *keys}:
            if env.get(key) != loaded.get(key):
                return f"{key} differs from the server's"
        try:
            first = child.first_path(request)
            entries = os.listdir(first)
        except OSError as err:
            return f"cwd: {err}"
        shadowing = {e.removesuffix(".py") for e in entries} & self.top_level
        for name in shadowing:
            path = os.path.join(first, name)
            if os.path.isfile(path + ".py") or os.path.isfile(os.path.join(path, "__init__.py")):
                return f"{name} in cwd would shadow the preloaded module"
        return None

    def mlops_refusal(self, args: list[str]) -> str | None:
        """The server of `mlops serve` takes it with one worker only (more start afresh); the
        pipeline's takes every other command but those that set, before their imports, the
        environment those read (`serve`, `serve-pinned`: OMP_NUM_THREADS; `demo`:
        XDG_CACHE_HOME)."""
        if self.serving:
            return None if _one_worker_serve(args) else "only `mlops serve --workers 1`"
        command = next((arg for arg in args if not arg.startswith("-")), "")
        if command in ("serve", "serve-pinned", "demo"):
            return f"`mlops {command}` sets what its imports read: it starts afresh"
        return None

    def takes(self, request: dict) -> bool:
        if "script" in request:
            return request["script"] in self.programs and os.path.isfile(request["script"])
        module = request["module"]
        return any(module == p or (p.endswith(".") and module.startswith(p)) for p in self.programs)

    def serve(self, path: str) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path + ".tmp")
        listener.listen(64)
        os.rename(path + ".tmp", path)  # clients see the socket only once it takes calls
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        selector = self.selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        parent = os.getppid()
        print(f"preload: ready ({len(sys.modules)} modules)", file=sys.stderr, flush=True)
        while os.getppid() == parent:  # the pytest worker that started it is alive
            for key, _ in selector.select(timeout=1.0):
                if key.fileobj is listener:
                    self.accept(listener, [listener.fileno(), wake_r, wake_w])
                elif key.fileobj == wake_r:
                    os.read(wake_r, 512)
                else:
                    self.hung_up(key.fileobj, key.data)
            self.reap()

    def accept(self, listener: socket.socket, server_fds: list[int]) -> None:
        conn, _ = listener.accept()
        conn.settimeout(10)
        try:
            request, fds = wire.recv_request(conn)
        except (OSError, ValueError) as err:
            print(f"preload: bad request: {err}", file=sys.stderr, flush=True)
            conn.close()
            return
        reason = self.refusal(request, fds)
        if reason is not None:
            print(f"preload: refused {_program(request)}: {reason}", file=sys.stderr, flush=True)
            wire.send_reply(conn, {"refused": reason})
        else:
            self.fork(request, fds, conn, server_fds)
        for fd in fds:
            os.close(fd)
        if reason is not None:
            conn.close()

    def fork(self, request: dict, fds: list[int], conn: socket.socket, server_fds: list[int]):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            for other in [conn, *self.live.values()]:  # the server's, not the child's
                other.close()
            for fd in server_fds:
                os.close(fd)
            self.selector.close()
            os.setsid()  # its own process group, which the server kills if the caller dies
            try:
                # DVC's imports set nothing; the stages' set these (OMP_WAIT_POLICY...).
                stage = _program(request).startswith("mlops")
                child.become(request, fds, self.env_defaults if stage else {}, self.own)
                code = child.run(request)
            except BaseException:  # never return into the server's loop
                import traceback

                traceback.print_exc()
                code = 1
            child.exit_now(code)
        self.live[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)
        wire.send_reply(conn, {"pid": pid})
        words = " ".join([_program(request), *request["args"][:2]])
        print(f"preload: {pid} runs {words}", file=sys.stderr, flush=True)

    def hung_up(self, conn: socket.socket, pid: int) -> None:
        """A client sends nothing after its request: its connection reads only once it is gone
        (killed, or it never waits). Its program goes too, with what it started (a child leads
        its own process group), as a fresh process's would with the caller's group."""
        self.selector.unregister(conn)
        with contextlib.suppress(OSError):
            if conn.recv(1):  # not a hang-up (a client sends nothing more): left alone
                return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        print(f"preload: {pid} killed: its caller is gone", file=sys.stderr, flush=True)

    def reap(self) -> None:
        while self.live:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.live.pop(pid, None)
            if conn is not None:
                with contextlib.suppress(KeyError):  # unless hung_up did
                    self.selector.unregister(conn)
                code = os.waitstatus_to_exitcode(status)
                wire.send_reply(conn, {"exit": code})
                conn.close()
                print(f"preload: {pid} exit {code}", file=sys.stderr, flush=True)


def _one_worker_serve(args: list[str]) -> bool:
    """`mlops serve ... --workers 1`: one process, which a forked child can be."""
    workers = None
    for at, arg in enumerate(args):
        if arg == "--workers" and at + 1 < len(args):
            workers = args[at + 1]
        elif arg.startswith("--workers="):
            workers = arg.removeprefix("--workers=")
    return bool(args) and args[0] == "serve" and workers == "1"


def _program(request: dict) -> str:
    return request.get("module") or os.path.basename(request["script"])


def main(argv: list[str]) -> None:
    path, programs, (imports, defaults) = argv[0], argv[1:], FLAVORS["pipeline"]
    if programs and programs[0].startswith("--flavor="):
        imports, defaults = FLAVORS[programs.pop(0).removeprefix("--flavor=")]
    if programs and programs[0].startswith("--imports="):
        imports = tuple(filter(None, programs.pop(0).removeprefix("--imports=").split(",")))
    started = time.perf_counter()
    server = Server(programs, imports, defaults)
    print(f"preload: imports took {time.perf_counter() - started:.2f} s", file=sys.stderr)
    for key, where in sorted(server.read.items()):
        print(f"preload: pinned {key} (read at {where})", file=sys.stderr)
    try:
        server.serve(path)
    finally:
        for conn in server.live.values():
            conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
