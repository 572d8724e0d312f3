"""Adaptive micro-batching: concurrent requests for the same model share one predict call.

scikit-learn's predict costs about the same for 1 row as for 100 (see ../shared/FACTS.md), so
the batcher never waits on purpose: when the model is idle a request runs at once; while a call
runs, new requests queue up and the next call takes all of them. Under light load that is
single-request latency; under heavy load the batches grow by themselves. A slow predict (the
pipeline, or a big batch) runs on one worker thread so the event loop keeps parsing requests
meanwhile; a small batch on a compiled path runs on the loop itself (``INLINE_ROWS``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlops.serve.routing import LoadedModel

# Up to this many rows a compiled predict (about 0.05 ms + 0.02 ms a row, treelite GTIL) runs on
# the event loop: the hand-off to the predict thread and back cost more than the call itself
# (profiled: benchmarks/profile_serving.py). Bigger batches, and the pipeline, go to the thread.
INLINE_ROWS = 64


@dataclass
class _Item:
    model: LoadedModel
    rows: list[dict[str, Any]]
    future: asyncio.Future = field(repr=False)


@dataclass(frozen=True)
class BatchResult:
    outputs: np.ndarray  # this request's rows only (``answers.outputs``: per task)
    cpu_seconds: float  # this request's share of the predict call's CPU time
    batch_rows: int


class MicroBatcher:
    def __init__(self, max_rows: int = 512):
        self.max_rows = max_rows
        self._queue: deque[_Item] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self.calls = 0
        self.rows = 0

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def predict(self, model: LoadedModel, rows: list[dict[str, Any]]) -> BatchResult:
        future = asyncio.get_running_loop().create_future()
        self._queue.append(_Item(model, rows, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await asyncio.sleep(0)  # let requests already parsed join this batch
                batch = self._take()
                try:
                    if _inline(batch):
                        results = _predict(batch)
                    else:
                        results = await loop.run_in_executor(self._pool, _predict, batch)
                except Exception as exc:  # a bug in predict must fail the requests, not the loop
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    continue
                self.calls += 1
                self.rows += sum(len(item.rows) for item in batch)
                for item, result in zip(batch, results, strict=True):
                    if not item.future.done():
                        item.future.set_result(result)

    def _take(self) -> list[_Item]:
        """The queued requests for the model at the head of the queue, up to ``max_rows``."""
        head = self._queue[0].model
        batch, rest, rows = [], deque(), 0
        while self._queue:
            item = self._queue.popleft()
            if item.model is head and (rows + len(item.rows) <= self.max_rows or not batch):
                batch.append(item)
                rows += len(item.rows)
            else:
                rest.append(item)
        self._queue.extendleft(reversed(rest))
        return batch


def _inline(batch: list[_Item]) -> bool:
    """A small batch on a compiled path costs less than handing it to the predict thread."""
    return batch[0].model.fast and sum(len(item.rows) for item in batch) <= INLINE_ROWS


def _predict(batch: list[_Item]) -> list[BatchResult]:
    rows = [row for item in batch for row in item.rows]
    model = batch[0].model
    c0 = time.thread_time()
    values = model.infer(rows)
    cpu_per_row = (time.thread_time() - c0) / len(rows)
    out, start = [], 0
    for item in batch:
        n = len(item.rows)
        out.append(BatchResult(values[start : start + n], cpu_per_row * n, len(rows)))
        start += n
    return out
