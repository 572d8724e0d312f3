"""The Open Inference Protocol (KServe V2) REST routes next to ``/predict``, for KServe and its
clients; the request and answer rules are in ``oip``, the JSON and binary bodies in ``v2_body``.

The answer holds the same predictions and probabilities as ``/predict`` (the same routing,
batcher, metrics and prediction log). ``/v2/models/<m>/versions/<v>/...`` reaches any version this
server holds warm, skipping the canary split; any other version is a 404. Every status under
``/v2``, routing's own 404 and 405 included, answers ``{"error": ...}``.

    POST /v2/models/churn-model/infer
    {"inputs": [{"name": "tenure_months", "shape": [1], "datatype": "INT64", "data": [14]}, ...]}
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from mlops.serve import limits, oip, openapi, v2_body, validation
from mlops.serve.oip import DATATYPES, columns
from mlops.serve.scoring import NotReady, score
from mlops.serve.tensors import datatype_of

BAD_REQUEST = 400
WARM = "warm"  # the route of a request that named a version that is neither stable nor canary


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(message: str, status: int = BAD_REQUEST, **extra) -> Response:
    return _json({"error": message, **extra}, status)


def input_metadata(column) -> dict[str, Any]:
    parameters: dict[str, Any] = {"nullable": column.nullable}
    if column.numeric:
        parameters.update(min=column.low, max=column.high)
    else:
        parameters["categories"] = list(column.categories)
    if column.description:
        parameters["description"] = column.description
    return {
        "name": column.name,
        "datatype": DATATYPES[column.kind][0],
        "shape": [-1],
        "parameters": parameters,
    }


def _outputs_metadata(contract) -> list[dict[str, Any]]:
    """Per task: the predicted class and its probabilities, or the predicted value."""
    if contract.task == "regression":
        return [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]
    label = datatype_of(list(contract.classes))
    shape = [-1, len(contract.classes)] if contract.task == "multiclass" else [-1]
    return [
        {"name": "predictions", "datatype": label, "shape": [-1]},
        {"name": "probabilities", "datatype": "FP64", "shape": shape},
    ]


def model_metadata(name: str, versions: list[str], contract) -> dict[str, Any]:
    parameters: dict[str, Any] = {"content_type": "pd", "task": contract.task}
    if contract.classes:
        parameters["classes"] = list(contract.classes)
    return {
        "name": name,
        "versions": versions,
        "platform": "mlops-serve",
        "inputs": [input_metadata(c) for c in columns(contract)],
        "outputs": _outputs_metadata(contract),
        "parameters": parameters,
    }


def _json(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(message: str, status: int = BAD_REQUEST) -> Response:
    return _json({"error": message}, status)


async def _v2_errors(request: Request, exc: HTTPException) -> Response:
    """Routing's own answers (404, 405) in the protocol's shape under /v2; FastAPI's elsewhere."""
    path = request.url.path
    if path == "/v2" or path.startswith("/v2/"):
        return _json({"error": str(exc.detail)}, exc.status_code, getattr(exc, "headers", None))
    return await http_exception_handler(request, exc)


def held(server) -> dict[str, Any]:
    """version -> loaded model, for every version this worker holds: live ones first."""
    routing = server.controller.routing
    out = {m.version: m for m, _ in routing.active()} if routing else {}
    for model in server.controller.warm_models():
        out.setdefault(model.version, model)
    return out


def picker(server, version: str):
    """Route a request that named ``version`` to it, whatever the canary split says."""

    def pick(routing):
        for model, route in routing.active():
            if model.version == version:
                return model, route
        model = held(server).get(version)
        if model is None:
            raise NotReady(f"version {version!r} is no longer held by this server")
        return model, WARM

    return pick


def _request_id(body: v2_body.InferBody, request: Request) -> str:
    """The body's id as given; else the X-Request-ID header; else a new one."""
    if body.id is not None:
        return body.id
    header = request.headers.get("x-request-id")
    return oip.check_id(header) if header is not None else uuid.uuid4().hex


def register(app: FastAPI, server) -> None:
    """Add the V2 routes to the server's app."""
    app.add_exception_handler(HTTPException, _v2_errors)

    def unknown(name: str, version: str | None = None) -> Response | None:
        routing = server.controller.routing
        if routing is None:
            reason = server.controller.deployed_nothing or server.controller.status.reason
            return _error(f"no model is loaded: {reason}", 503)
        served = routing.stable.model
        if name != served:
            return _error(f"unknown model {name!r}; this server serves {served!r}", 404)
        if version is not None and version not in (versions := held(server)):
            return _error(
                f"model {name!r} has no version {version!r} on this server; "
                f"it holds: {', '.join(versions)}",
                404,
            )
        return None

    @app.get("/v2", summary="V2: server metadata")
    async def server_metadata() -> Response:
        return _json({"name": "mlops-serve", "version": "2", "extensions": ["binary_tensor_data"]})

    @app.get("/v2/health/live", summary="V2: the process is up")
    async def live() -> Response:
        return _json({"live": True})

    @app.get("/v2/health/ready", summary="V2: a model is loaded")
    async def ready() -> Response:
        is_ready = server.controller.routing is not None and server.readiness()[0]
        return _json({"ready": is_ready}, 200 if is_ready else 503)

    @app.get("/v2/models/{name}/ready", summary="V2: this model is loaded")
    @app.get("/v2/models/{name}/versions/{version}/ready", summary="V2: this version is loaded")
    async def model_ready(name: str, version: str | None = None) -> Response:
        return unknown(name, version) or _json({"name": name, "ready": True})

    @app.get("/v2/models/{name}", summary="V2: model metadata (one input per column)")
    @app.get("/v2/models/{name}/versions/{version}", summary="V2: one version's metadata")
    async def metadata(name: str, version: str | None = None) -> Response:
        if problem := unknown(name, version):
            return problem
        versions = held(server)
        contract = (versions[version] if version else server.controller.routing.stable).contract
        return _json(model_metadata(name, list(versions), contract))

    @app.post(
        "/v2/models/{name}/infer",
        summary="V2: predict (one input tensor per column)",
        openapi_extra=openapi.INFER,
    )
    @app.post("/v2/models/{name}/versions/{version}/infer", summary="V2: predict by this version",
              openapi_extra=openapi.INFER)  # fmt: skip
    async def infer(name: str, request: Request, version: str | None = None) -> Response:
        t0 = time.perf_counter()
        if problem := unknown(name, version):
            return problem
        try:
            raw = await limits.read_body(request, server.settings.max_body_bytes)
        except limits.BodyTooLarge as exc:
            return _error(str(exc), 413)
        try:  # everything the answer would carry is checked before anything is scored
            body = v2_body.parse(raw, request.headers.get(v2_body.HEADER_LENGTH))
            request_id = _request_id(body, request)
            scored = await score(
                server, request_id,
                lambda model: oip.rows(body.inputs, body.requested, model),
                t0, BAD_REQUEST, picker(server, version) if version else None,
            )  # fmt: skip
        except NotReady as exc:
            return _error(f"no model is loaded: {exc}", 503)
        except validation.RequestError as exc:
            return _error(exc.errors[0]["msg"])
        head = {"model_name": name, "model_version": scored.version, "id": request_id,
                "parameters": {"route": scored.route}}  # fmt: skip
        content, headers = v2_body.answer(head, body, oip.outputs(scored.answer, body.requested))
        media = v2_body.BINARY if headers else "application/json"
        return Response(content, 200, {**headers, "x-request-id": request_id}, media_type=media)
