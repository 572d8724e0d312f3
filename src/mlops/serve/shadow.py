"""Shadow scoring off the answer's path.

A request the shadow sees (``Routing.shadowed``) is answered exactly as without it; its rows and
its prediction-log entry are handed to a queue, and one background thread scores them with the
shadow model in batches (many requests, one predict call), records the shadow's metrics under
route ``shadow``, and writes the request's log entry with the shadow's output beside the answer
(``shadow`` field, same request id; ``mlops.formats.predlog``). The client's answer and latency
never wait for it: a full queue drops the shadow's work (counted) and logs the answer alone, and a
shadow that fails to predict logs the answer alone (counted).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from mlops.serve import metrics
from mlops.serve.predlog_writer import WAKE, wake
from mlops.serve.routing import SHADOW, LoadedModel

MAX_QUEUE = 10_000  # requests waiting for the shadow; beyond it the shadow skips them
MAX_BATCH_ROWS = 512
WAIT_SECONDS = 0.2
# after the first queued request, let others join it: one wake-up and one predict call per
# batch instead of per request, so the shadow takes the GIL from the answers less often
LINGER_SECONDS = 0.02


class ShadowScorer:
    def __init__(self, predlog):
        self.predlog = predlog  # PredictionLog: ``submit(*entry, shadow=...)``
        self.dropped = 0
        self.failed = 0
        self.scored = 0
        self._queue: queue.Queue = queue.Queue(MAX_QUEUE)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        wake(self._queue)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def submit(self, model: LoadedModel, entry: tuple) -> None:
        """Queue a request for the shadow; ``entry`` is its prediction-log entry (the rows are
        its fourth item). Never blocks: when the queue is full the answer is logged alone."""
        try:
            self._queue.put_nowait((model, entry))
        except queue.Full:
            self.dropped += 1
            self.predlog.submit(*entry)

    def _run(self) -> None:
        while not self._stop.is_set() or not self._queue.empty():
            try:
                items = [self._queue.get(timeout=WAIT_SECONDS)]
            except queue.Empty:
                continue
            if items[0] is WAKE:
                continue
            self._stop.wait(LINGER_SECONDS)
            rows = len(items[0][1][3])
            while rows < MAX_BATCH_ROWS:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
                if items[-1] is WAKE:
                    items.pop()
                    break
                rows += len(items[-1][1][3])
            for model, batch in _by_model(items):
                self._score(model, batch)

    def _score(self, model: LoadedModel, entries: list[tuple]) -> None:
        rows = [row for entry in entries for row in entry[3]]
        c0 = time.thread_time()
        try:
            values = model.infer(rows)
        except Exception:  # a broken shadow must never cost an answer its log entry
            self.failed += len(entries)
            for entry in entries:
                self.predlog.submit(*entry)
            return
        cpu = time.thread_time() - c0
        # one answer and one metrics update for the whole batch (the counts and the histogram
        # are sums, so they equal per-request updates), sliced per request for the log: per
        # request bookkeeping cost a fifth of the shadow's CPU in batches of 32
        answer = model.answer(values)
        metrics.observe_predictions(model.version, SHADOW, answer, cpu)
        beside = logged(model.version, answer)
        start = 0
        for entry in entries:
            n = len(entry[3])
            self.predlog.submit(*entry, shadow=beside[start : start + n])
            start += n
            self.scored += 1


def _by_model(items: list[tuple[LoadedModel, tuple]]) -> list[tuple[LoadedModel, list[tuple]]]:
    groups: dict[int, tuple[LoadedModel, list[tuple]]] = {}
    for model, entry in items:
        groups.setdefault(id(model), (model, []))[1].append(entry)
    return list(groups.values())


def logged(version: str, answer) -> list[dict[str, Any]]:
    """Per row, the shadow's output as the prediction log keeps it beside the answer."""
    probabilities = answer.logged_probabilities()
    return [
        {"model_version": version, "prediction": p, "probability": proba}
        for p, proba in zip(answer.predictions, probabilities, strict=True)
    ]
