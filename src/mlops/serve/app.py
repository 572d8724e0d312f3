"""The ASGI app: prediction, health, readiness, the deploy contract and metrics.

One app runs in each worker process. Startup does the first reconcile in the background; a
controller thread then reconciles every ``sync_interval`` seconds and whenever any worker got a
``POST /-/sync``. A request reads the routing snapshot once and uses it to the end.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import os
import threading
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from mlops.serve import limits, metrics, openapi, pinned, v2, validation
from mlops.serve.controller import Controller
from mlops.serve.coordination import Coordinator
from mlops.serve.predlog_writer import hygiene
from mlops.serve.scoring import NotReady, score
from mlops.serve.settings import TOKEN_ENV, Settings
from mlops.serve.shadow import ShadowScorer

POLL_SECONDS = 0.1  # how often a worker looks for sync requests made to other workers
SYNC_TIMEOUT_S = 600


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


class Server:
    """Everything one worker process holds: controller, batcher, log, coordination."""

    def __init__(self, settings: Settings):
        from mlops.serve.batcher import MicroBatcher

        self.settings = settings
        self.coordinator = Coordinator(settings.run_dir, settings.workers)
        self.controller = pinned.controller_for(settings, Controller, self._publish)
        self.batcher = MicroBatcher(settings.max_batch_rows)
        self.predlog = pinned.prediction_log(
            settings, {} if settings.pinned_file else hygiene(settings.root, settings.env)
        )
        self.shadow = ShadowScorer(self.predlog)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._sync_loop, name="controller", daemon=True)

    # ---- lifecycle -----------------------------------------------------------------------
    def first_sync(self) -> None:
        """The first reconcile, before this worker accepts a connection: a worker that cannot
        serve yet never takes a request (uvicorn listens only after the lifespan started)."""
        self.controller.reconcile(self.coordinator.generation())
        if self.controller.routing is not None:
            # the model loaded here serves from the first request on: out of the collector's
            # full passes too (see _sync_loop), or each one stalls requests for 0.5-0.7 s
            gc.freeze()

    def start(self) -> None:
        self.batcher.start()
        self.predlog.start()
        self.shadow.start()
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        await self.batcher.stop()
        self.shadow.stop()
        self.predlog.stop()

    def _sync_loop(self) -> None:
        last = time.monotonic() if self.controller.reconciles else 0.0
        while not self._stop.is_set():
            generation = self.coordinator.generation()
            due = time.monotonic() - last >= self.settings.sync_interval
            if due or generation > self.controller.status.generation or last == 0.0:
                last = time.monotonic()
                before = self.controller.routing
                self.controller.reconcile(generation)
                if self.controller.routing is not before:
                    # what was just loaded lives as long as it serves: keep it out of the
                    # collector's full passes, which otherwise walk every object of sklearn,
                    # pandas and the models on the request path's thread (p99 at 32 clients
                    # 573-1,350 ms -> 57-123 ms under load; benchmarks/README.md)
                    gc.freeze()
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _publish(self) -> None:
        view = self.controller.view()
        self.coordinator.publish(view)
        routing = self.controller.routing
        active = [(m.version, route) for m, route in routing.active()] if routing else []
        metrics.set_state(view["sync"], active)

    # ---- answers ---------------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        return self.coordinator.aggregate(self.controller.view())

    def readiness(self) -> tuple[bool, str]:
        """Ready only when every worker has a model to serve (any worker may get a request)."""
        states = self.coordinator.states()
        serving = sum(1 for s in states if s.get("stable"))
        if serving >= self.settings.workers:
            return True, ""
        reason = self.controller.deployed_nothing or self.controller.status.reason
        waiting = f"{serving} of {self.settings.workers} workers can serve"
        return False, f"{waiting}: {reason}" if reason else waiting

    def sync_now(self) -> dict[str, Any]:
        generation = self.coordinator.bump()
        self._wake.set()
        if not self.coordinator.wait(generation, SYNC_TIMEOUT_S):
            out = self.version()
            out["reason"] = (out["reason"] + "; " if out["reason"] else "") + (
                "timed out waiting for every worker to reconcile"
            )
            return out
        return self.version()


def _authorized(request: Request) -> bool:
    expected = os.environ.get(TOKEN_ENV, "")
    given = request.headers.get("authorization", "")
    return bool(expected) and hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    server = Server(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(server.first_sync)
        server.start()
        rpc = None
        if settings.grpc_port:
            from mlops.serve import grpc_server

            rpc = grpc_server.start(server, asyncio.get_running_loop())
        yield
        if rpc is not None:
            rpc.stop(grace=1)
        await server.stop()

    app = FastAPI(
        title="mlops serve",
        summary=f"The {settings.env} model server: follows models.yaml at {settings.ref}",
        lifespan=lifespan,
    )
    app.state.server = server

    @app.post(
        "/predict",
        summary="Predict one or many records (the contract's features)",
        openapi_extra=openapi.PREDICT,
    )
    async def predict(request: Request) -> Response:
        t0 = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        headers = {"x-request-id": request_id}
        try:
            body = await limits.read_body(request, settings.max_body_bytes)
        except limits.BodyTooLarge as exc:
            metrics.observe("none", "none", 413, time.perf_counter() - t0)
            return _json({"detail": str(exc), "request_id": request_id}, 413, headers)
        try:
            scored = await score(
                server, request_id, lambda model: model.validator.records(_parse(body)), t0
            )
        except NotReady as exc:
            return _json({"detail": f"no model is loaded: {exc}"}, 503, headers)
        except validation.RequestError as exc:
            return _json({"detail": exc.errors, "request_id": request_id}, 422, headers)
        return _json({**scored.body(), "request_id": request_id}, 200, headers)

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> Response:
        return _json({"status": "ok", "pid": os.getpid()})

    @app.get("/readyz", summary="Every worker has a model loaded and can serve")
    async def readyz() -> Response:
        routing = server.controller.routing
        status = server.controller.status
        ready, reason = server.readiness()
        if not ready or routing is None:
            return _json({"ready": False, "sync": status.sync, "reason": reason}, 503)
        return _json({"ready": True, "sync": status.sync, "version": routing.stable.version})

    @app.get("/version", summary="The deploy contract: what is live and whether it matches Git")
    async def version() -> Response:
        return _json(server.version())

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    @app.post("/-/sync", summary=f"Reconcile now (Authorization: Bearer ${TOKEN_ENV})")
    async def sync(request: Request) -> Response:
        if not _authorized(request):
            detail = "missing or wrong bearer token"
            if not os.environ.get(TOKEN_ENV):
                detail = f"sync is disabled: start the server with {TOKEN_ENV} set"
            return _json({"detail": detail}, 401, {"www-authenticate": "Bearer"})
        return _json(await asyncio.to_thread(server.sync_now))

    v2.register(app, server)
    return app


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise validation.RequestError(
            [{"loc": ["body"], "msg": f"malformed JSON: {exc}", "type": "json_invalid"}]
        ) from exc
