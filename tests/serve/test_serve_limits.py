"""A real server on 127.0.0.1: a big body is refused before it is read whole, every
label resolves to its registered tag, and /readyz says ready only when every worker can serve."""

from __future__ import annotations

import math
import socket
import threading
import time

import httpx
import pytest

from mlops.core import paths
from mlops.data.sample import contract as sample_contract
from mlops.serve import launcher
from tests.conftest import dvc
from tests.serve.conftest import GOOD, deploy, digest

CONTRACT = sample_contract()
COLUMNS = [c for c in CONTRACT.columns if c.feature]
FEATURES = list(CONTRACT.features)
read_table = CONTRACT.read_table

pytestmark = pytest.mark.e2e


def _records(repo, n: int) -> list[dict]:
    df = read_table(repo / paths.HOLDOUT)[list(FEATURES)][:n]
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in df.to_dict(orient="records")
    ]


def _declare_huge_body(url: str) -> tuple[str, float]:
    """Send headers declaring 600 MB and 64 KB of it; the status line and how long it took."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 600000000\r\n\r\n" + b"[" * 65536
        )
        answer = sock.recv(4096).decode(errors="replace")
    return answer.split("\r\n", 1)[0], time.monotonic() - started


def test_a_big_body_gets_413_before_it_is_read(served_repo):
    deploy(served_repo, "staging", GOOD[0])
    extra = ("--max-body-mb", "1")
    with launcher.start(served_repo, "staging", workers=1, extra_args=extra) as server:
        status, seconds = _declare_huge_body(server.url)
        assert status == "HTTP/1.1 413 Request Entity Too Large" and seconds < 5
        chunks = (b'{"records": [' + b" " * 65536 for _ in range(40))  # 2.6 MB, no length
        response = httpx.post(f"{server.url}/predict", content=chunks, timeout=30)
        assert response.status_code == 413
        assert "at most 1,048,576" in response.json()["detail"]
        assert server.predict(_records(served_repo, 100))["model_version"] == GOOD[0]


def test_an_unregistered_label_is_degraded_not_served(served_repo, monkeypatch):
    deploy(served_repo, "staging", GOOD[0])
    # the clone's own DVC config points nowhere; MLOPS_DVC_REMOTE names the real remote
    real = dvc(served_repo, "remote", "list").stdout.split()[1]
    dvc(served_repo, "remote", "modify", "--local", "storage", "url", "/nonexistent/remote")
    monkeypatch.setenv("MLOPS_DVC_REMOTE", real)
    with launcher.start(served_repo, "staging", workers=1) as server:
        assert server.version()["sync"] == "Synced"
        # a label never registered, with the digest of a model the server holds warm
        deploy(served_repo, "staging", "v1.7.0", pin=digest(served_repo, GOOD[0]))
        state = server.sync()
        assert state["sync"] == "Degraded"
        assert "churn-model@v1.7.0: no such version" in state["reason"], state["reason"]
        assert state["stable"]["version"] == GOOD[0]
        assert server.predict(_records(served_repo, 1))["model_version"] == GOOD[0]


def _hammer(url: str, records: list[dict], seconds: float) -> tuple[int, list]:
    """POST /predict from 4 threads, a new connection each time (so any worker may take it)."""
    failures, count, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def loop():
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=30, limits=limits) as client:
            while time.monotonic() < deadline:
                response = client.post(f"{url}/predict", json={"records": records})
                with lock:
                    count[0] += 1
                    if response.status_code != 200:
                        failures.append((response.status_code, response.text[:200]))

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count[0], failures


def test_readyz_is_200_only_when_every_worker_can_serve(served_repo):
    deploy(served_repo, "staging", GOOD[0])
    server = launcher.start(served_repo, "staging", workers=2, wait=False)
    try:
        before = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{server.url}/readyz", timeout=10)
            except httpx.TransportError:
                continue  # no worker listens before it can serve
            if ready.status_code == 200:
                break
            before.append(ready.status_code)
            time.sleep(0.02)
        assert ready.status_code == 200, server.log()
        assert set(before) <= {503}
        sent, failures = _hammer(server.url, _records(served_repo, 1), 3.0)
        assert sent > 20 and failures == [], failures[:3]
        view = server.version()
        assert view["workers"]["reporting"] == 2 and view["sync"] == "Synced"
    finally:
        server.stop()
