"""Swaps under load: steady traffic while 20 syncs alternate between two versions."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from mlops.serve import launcher
from tests.serve.conftest import GOOD, deploy

pytestmark = pytest.mark.e2e
RECORD = {
    "tenure_months": 5,
    "monthly_charges": 80.5,
    "total_charges": None,
    "support_tickets": 2,
    "senior_citizen": 0,
    "contract": "month-to-month",
    "payment_method": "electronic-check",
    "internet_service": "fiber",
    "region": "west",
}


def _traffic(url: str, stop: threading.Event, out: list, failures: list) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                resp = client.post("/predict", json={"records": [RECORD]})
            except httpx.HTTPError as exc:
                failures.append(repr(exc))
                continue
            t1 = time.monotonic()
            if resp.status_code != 200:
                failures.append(f"{resp.status_code} {resp.text[:200]}")
                continue
            out.append((t0, t1, resp.json()["model_version"]))


def _allowed(t0: float, t1: float, syncs: list, initial: str) -> set[str]:
    """Versions live at some moment of [t0, t1]: the one live before, and any being swapped."""
    live = initial
    allowed = set()
    for start, end, before, after in syncs:
        if end <= t0:
            live = after
        elif start <= t1:
            allowed |= {before, after}
    return allowed | {live}


def test_twenty_swaps_under_load_lose_no_request(served_repo):
    deploy(served_repo, "staging", GOOD[0])
    with launcher.start(served_repo, "staging", log_sample_rate=0) as server:
        stop, responses, failures = threading.Event(), [], []
        threads = [
            threading.Thread(target=_traffic, args=(server.url, stop, responses, failures))
            for _ in range(6)
        ]
        for t in threads:
            t.start()
        time.sleep(0.5)
        syncs, live = [], GOOD[0]
        for i in range(20):
            target = GOOD[(i + 1) % 2]
            start = time.monotonic()
            deploy(served_repo, "staging", target)
            state = server.sync()
            end = time.monotonic()
            assert state["sync"] == "Synced" and state["stable"]["version"] == target, state
            syncs.append((start, end, live, target))
            live = target
            time.sleep(0.1)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert len(responses) > 200
    wrong = [r for r in responses if r[2] not in _allowed(r[0], r[1], syncs, GOOD[0])]
    assert wrong == []
    seen = {r[2] for r in responses}
    assert seen == set(GOOD)
