"""Start and stop a server from code (``make demo``, tests, deploy checks) and wait until it
has finished its first reconcile.

    with launcher.start(repo, "staging", port=launcher.free_port()) as server:
        httpx.post(f"{server.url}/predict", json={"records": [...]})
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mlops.core import tools
from mlops.core.errors import MlopsError
from mlops.serve.settings import STATE_DIR, TOKEN_ENV


class LaunchError(MlopsError):
    """The server did not come up; the message holds the end of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class ServerHandle:
    url: str
    env: str
    token: str
    process: subprocess.Popen
    log_file: Path
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60), repr=False)

    def version(self) -> dict[str, Any]:
        return self._client.get(f"{self.url}/version").raise_for_status().json()

    def sync(self) -> dict[str, Any]:
        """POST /-/sync with the token; returns the new state."""
        headers = {"Authorization": f"Bearer {self.token}"}
        return self._client.post(f"{self.url}/-/sync", headers=headers).raise_for_status().json()

    def predict(self, records: list[dict], request_id: str | None = None) -> dict[str, Any]:
        headers = {"X-Request-ID": request_id} if request_id else {}
        resp = self._client.post(f"{self.url}/predict", json={"records": records}, headers=headers)
        return resp.raise_for_status().json()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def wait_started(self, timeout: float = 120) -> dict[str, Any]:
        """Wait until every worker finished its first reconcile; returns ``/version``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LaunchError(
                    f"the {self.env} server exited with {self.process.returncode}:\n"
                    f"{self.log()[-3000:]}"
                )
            try:
                view = self.version()
                workers = view.get("workers", {})
                if workers.get("started", 0) >= workers.get("expected", 1):
                    return view
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise LaunchError(f"the {self.env} server did not start in {timeout:g}s:\n{self.log()}")

    def stop(self, timeout: float = 15) -> None:
        self._client.close()
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # our own session: server and workers
            self.process.wait()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(
    repo: str | Path,
    env: str,
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    ref: str | None = None,
    token: str | None = None,
    sync_interval: float | None = None,
    workers: int | None = None,
    log_dir: str | None = None,
    log_sample_rate: float | None = None,
    extra_args: tuple[str, ...] = (),
    wait: bool = True,
    timeout: float = 120,
) -> ServerHandle:
    """Start ``mlops serve`` in ``repo`` as a subprocess; with ``wait``, return once started."""
    repo = Path(repo)
    port = port or free_port(host)
    token = token or os.environ.get(TOKEN_ENV) or secrets.token_hex(16)
    args = [tools.PYTHON, "-m", "mlops", "serve", "--env", env, "--host", host]
    args += ["--port", str(port)]
    options = {
        "--ref": ref,
        "--sync-interval": sync_interval,
        "--workers": workers,
        "--log-dir": log_dir,
        "--log-sample-rate": log_sample_rate,
    }
    for flag, value in options.items():
        if value is not None:
            args += [flag, str(value)]
    log_file = repo / STATE_DIR / "serve" / f"{env}-{port}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            [*args, *extra_args],
            cwd=repo,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, TOKEN_ENV: token},
            start_new_session=True,
        )
    handle = ServerHandle(f"http://{host}:{port}", env, token, process, log_file)
    if wait:
        try:
            handle.wait_started(timeout)
        except BaseException:  # a timeout or Ctrl-C while waiting must not leave it running
            handle.stop()
            raise
    return handle
