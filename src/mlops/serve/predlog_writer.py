"""The prediction-log writer: records in ``mlops.formats.predlog``'s format, written off the
request path.

Requests hand their rows to a queue (after the sampling decision); one background thread turns
them into JSON lines, appends them in batches and rotates the active file by size. Worker
processes share the folder: a file lock makes append-and-rotate one step. Columns marked
``personal`` are hashed with the secret key before they are written (``mlops.formats.predlog``):
those of the repository's contract.yaml (``hygiene``) and those of the contract the served version
carries (passed with each request, so pinned mode, which has no repository, hashes them too).
Without the key they are left out of the log, and the server says so on stderr: at start for
the repository's contract, at the first request for a served version's own columns. Every
rotation deletes rotated files older than ``monitoring.log_retention_days``.
"""

from __future__ import annotations

import contextlib
import queue
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from mlops.formats import predlog
from mlops.serve.coordination import file_lock

FLUSH_SECONDS = 0.2
CHUNK = 8  # requests serialized between two hand-overs of the GIL
MAX_QUEUE = 100_000  # requests; beyond it records are dropped (and counted), never blocking
# Put in a background thread's queue by `stop`: its wait for the next item ends at once (not
# after up to FLUSH_SECONDS), and a server stops in milliseconds.
WAKE = object()


def wake(waiting: queue.Queue) -> None:
    with contextlib.suppress(queue.Full):  # full: the thread is not waiting
        waiting.put_nowait(WAKE)


def hygiene(root: str | Path, env: str) -> dict[str, Any]:
    """``PredictionLog``'s privacy and retention settings from contract.yaml and the env file."""
    from mlops.formats import environments
    from mlops.formats.contract import load_contract

    days = environments.load(env, root).monitoring.log_retention_days
    return {
        "personal": load_contract(root).personal,
        "retention": None if days is None else timedelta(days=days),
    }


class PredictionLog:
    def __init__(
        self,
        log_dir: Path,
        env: str,
        sample_rate: float,
        max_bytes: int,
        personal: tuple[str, ...] = (),
        retention: timedelta | None = None,
    ):
        self.folder = predlog.env_dir(log_dir, env)
        self.log_dir = Path(log_dir)
        self.personal = personal
        self.retention = retention
        self._key = predlog.hash_key()
        self.withheld: set[str] = set()  # personal columns left out (no key), announced once
        self.env = env
        self.sample_rate = sample_rate
        self.max_bytes = max_bytes
        self.dropped = 0
        self.written = 0
        self._queue: queue.Queue = queue.Queue(MAX_QUEUE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="predlog", daemon=True)

    def start(self) -> None:
        if self.sample_rate > 0:
            self._announce(self.personal)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._thread.start()

    def _announce(self, personal: tuple[str, ...]) -> None:
        """Say once per column that it is left out of the log for want of the key."""
        new = [c for c in personal if c not in self.withheld]
        if self._key is None and new:
            self.withheld.update(new)
            print(f"serve: prediction log: {predlog.key_problem(new)}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        self._stop.set()
        wake(self._queue)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def submit(
        self, request_id, version, route, rows, predictions, probabilities, latency_ms,
        class_probabilities=None, personal: tuple[str, ...] = (), shadow=None,
    ):  # fmt: skip
        """Queue one request's rows (or skip it, by the sampling rate); never blocks.
        ``class_probabilities``: multiclass, every class's probability per row.
        ``personal``: the columns the served version's own contract marks personal.
        ``shadow``: per row, the shadow version's output, logged beside the answer."""
        if self.sample_rate <= 0 or (self.sample_rate < 1 and random.random() >= self.sample_rate):
            return
        item = (datetime.now(UTC), request_id, version, route, rows, predictions, probabilities,
                latency_ms, class_probabilities, personal, shadow)  # fmt: skip
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while not self._stop.is_set() or not self._queue.empty():
            items = self._drain()
            if items:
                self._write(b"".join(self._chunks(items)))

    def _chunks(self, items: list[Any]):
        """The items' lines, a few requests at a time, handing the GIL to the request threads
        between chunks: one long serialization run held it for up to the interpreter's switch
        interval at a time, which was most of p99 at 32 clients (benchmarks/README.md)."""
        for start in range(0, len(items), CHUNK):
            yield b"".join(self._lines(item) for item in items[start : start + CHUNK])
            time.sleep(0)

    def _drain(self) -> list[Any]:
        try:
            items = [self._queue.get(timeout=FLUSH_SECONDS)]
        except queue.Empty:
            return []
        while len(items) < 10_000 and items[-1] is not WAKE:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return [item for item in items if item is not WAKE]

    def _lines(self, item) -> bytes:
        ts, request_id, version, route, rows, predictions, probabilities, latency_ms = item[:8]
        per_class, extra, shadow = item[8:]
        per_class = per_class or [None] * len(rows)
        shadow = shadow or [None] * len(rows)
        personal = tuple(dict.fromkeys((*self.personal, *extra)))
        self._announce(personal)
        out = []
        for row, pred, proba, classes, beside in zip(
            rows, predictions, probabilities, per_class, shadow, strict=True
        ):
            rec = predlog.record(
                request_id=request_id,
                env=self.env,
                model_version=version,
                route=route,
                features=predlog.redact(row, personal, self._key),
                prediction=pred,
                probability=proba,
                latency_ms=latency_ms,
                ts=ts,
                probabilities=classes,
            )
            if beside is not None:
                rec["shadow"] = predlog.shadow_record(beside)
            out.append(orjson.dumps(rec) + b"\n")
        self.written += len(out)
        return b"".join(out)

    def _write(self, data: bytes) -> None:
        active = self.folder / predlog.ACTIVE
        with file_lock(self.folder / ".lock"):
            size = active.stat().st_size if active.exists() else 0
            if size and size + len(data) > self.max_bytes:
                active.rename(self.folder / predlog.rotated_name())
                if self.retention is not None:
                    predlog.prune(self.log_dir, self.env, self.retention)
            with open(active, "ab") as fh:
                fh.write(data)
