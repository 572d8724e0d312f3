"""Several worker processes serve one port; this keeps them on one desired state.

Each worker runs its own controller (so a swap stays an in-process pointer assignment) and
publishes its state to ``<run_dir>/worker-<pid>.json``. ``POST /-/sync`` bumps a shared generation
number; every worker polls it and reconciles when it grows. The answer a client sees (``/version``,
``/-/sync``) is the aggregate of all live workers: ``Synced`` only when every worker applied the
same commit and versions.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SYNCED, OUT_OF_SYNC, DEGRADED = "Synced", "OutOfSync", "Degraded"
STATES = (SYNCED, OUT_OF_SYNC, DEGRADED)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Coordinator:
    def __init__(self, run_dir: Path, workers: int):
        self.run_dir = Path(run_dir)
        self.workers = workers
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._generation = self.run_dir / "generation"

    def generation(self) -> int:
        try:
            return int(self._generation.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def bump(self) -> int:
        """Ask every worker to reconcile now; returns the generation they must reach."""
        with file_lock(self.run_dir / "generation.lock"):
            new = self.generation() + 1
            _write_atomic(self._generation, str(new))
        return new

    def publish(self, state: dict[str, Any]) -> None:
        _write_atomic(self.run_dir / f"worker-{os.getpid()}.json", json.dumps(state))

    def states(self) -> list[dict[str, Any]]:
        """The last published state of every live worker (files of dead ones are removed)."""
        out = []
        for path in sorted(self.run_dir.glob("worker-*.json")):
            pid = int(path.stem.split("-", 1)[1])
            if not _alive(pid):
                path.unlink(missing_ok=True)
                continue
            try:
                out.append(json.loads(path.read_text()))
            except (FileNotFoundError, json.JSONDecodeError):
                continue
        return out

    def wait(self, generation: int, timeout: float) -> bool:
        """Block until every worker reconciled at least ``generation`` (False on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if len(states) >= self.workers and all(
                s.get("generation", 0) >= generation for s in states
            ):
                return True
            time.sleep(0.02)
        return False

    def aggregate(self, own: dict[str, Any]) -> dict[str, Any]:
        """One answer for the whole server, in the deploy contract's terms."""
        states = self.states() or [own]
        out = dict(own)
        started = sum(1 for s in states if s.get("reconciles", 0) > 0)
        out["workers"] = {"expected": self.workers, "reporting": len(states), "started": started}
        degraded = [s for s in states if s["sync"] == DEGRADED]
        views = {(s["commit"], _key(s["stable"]), _key(s["canary"])) for s in states}
        if degraded:
            out.update(sync=DEGRADED, reason=degraded[0]["reason"])
        elif started < self.workers:
            out.update(
                sync=OUT_OF_SYNC,
                reason=f"starting: {started} of {self.workers} workers have synced",
            )
        elif any(s["sync"] == OUT_OF_SYNC for s in states):
            behind = next(s for s in states if s["sync"] == OUT_OF_SYNC)
            out.update(sync=OUT_OF_SYNC, reason=behind["reason"])
        elif len(views) > 1:
            out.update(sync=OUT_OF_SYNC, reason="workers are converging on the new state")
        return out


def _key(pin: dict | None) -> tuple:
    return tuple(sorted(pin.items())) if pin else ()
