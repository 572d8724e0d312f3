"""One prediction request, whatever its protocol (``/predict`` or the Open Inference Protocol):
route it with one routing snapshot, validate its rows, predict in the batcher, record metrics and
the prediction log. The protocols differ only in how they read rows and write answers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mlops.serve import answers, metrics, validation

if TYPE_CHECKING:
    from mlops.serve.batcher import MicroBatcher
    from mlops.serve.controller import Controller
    from mlops.serve.predlog_writer import PredictionLog
    from mlops.serve.routing import LoadedModel, Routing
    from mlops.serve.shadow import ShadowScorer


class Worker(Protocol):
    """What a request needs of the worker serving it (``mlops.serve.app.Server`` is one): the
    protocols import this module, and the app imports the protocols, so it is named here."""

    controller: Controller
    batcher: MicroBatcher
    predlog: PredictionLog
    shadow: ShadowScorer


class NotReady(Exception):
    """No model is loaded; the message is the reason."""


@dataclass(frozen=True)
class Scored:
    version: str
    route: str
    answer: answers.Answer  # per task: predictions, probabilities, classes

    def body(self) -> dict[str, Any]:
        return {**self.answer.body(), "model_version": self.version, "route": self.route}


async def score(
    server: Worker,
    request_id: str,
    read_rows: Callable[[LoadedModel], list],
    t0: float,
    bad_status=422,
    pick: Callable[[Routing], tuple[LoadedModel, str]] | None = None,
) -> Scored:
    """One prediction request, whatever its protocol: route it with one routing snapshot, read
    and validate its rows against the routed version's own contract (``read_rows`` raises
    ``RequestError``), predict in the batcher, and record metrics and the prediction log.
    ``pick`` chooses the model instead of the canary split (a request that names a version)."""
    routing = server.controller.routing  # the one snapshot this request uses
    if routing is None:
        metrics.observe("none", "none", 503, time.perf_counter() - t0)
        raise NotReady(server.controller.deployed_nothing or server.controller.status.reason)
    model, route = pick(routing) if pick else routing.choose(request_id)
    try:
        rows = read_rows(model)
    except validation.RequestError:
        metrics.observe(model.version, route, bad_status, time.perf_counter() - t0)
        raise
    result = await server.batcher.predict(model, rows)
    answer = model.answer(result.outputs)
    latency = time.perf_counter() - t0
    metrics.observe(model.version, route, 200, latency)
    metrics.observe_predictions(model.version, route, answer, result.cpu_seconds)
    entry = (
        request_id,
        model.version,
        route,
        rows,
        answer.predictions,
        answer.logged_probabilities(),
        latency * 1000,
        answer.logged_class_probabilities(),
        model.contract.personal,
    )
    shadow = routing.shadowed(request_id)
    if shadow is None:
        server.predlog.submit(*entry)
    else:  # scored off the answer's path; it logs the entry with the shadow's output beside it
        server.shadow.submit(shadow, entry)
    return Scored(model.version, route, answer)
