"""The Open Inference Protocol (KServe V2) next to ``/predict``, for KServe and its clients.

Tabular data follows MLServer's convention: one input tensor per column, all of the same length
(one element per row), strings as ``BYTES``. The answer holds the same predictions and
probabilities as ``/predict`` (the same routing, batcher, metrics and prediction log), as two
output tensors. A request that names no column, a wrong or missing one, tensors of different
lengths or a value the data contract refuses gets a 400 whose ``error`` names the input.

    POST /v2/models/churn-model/infer
    {"inputs": [{"name": "tenure_months", "shape": [1], "datatype": "INT64", "data": [14]}, ...]}
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from mlops.serve import limits, validation
from mlops.serve.scoring import NotReady, score

BAD_REQUEST = 400
# Datatypes a column's tensor may have, the first being what the metadata advertises.
_DATATYPES = {
    "int": ("INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"),
    "float": ("FP64", "FP32", "FP16", "INT64", "INT32"),
    "category": ("BYTES",),
}


def columns(contract) -> list:
    """The columns a request carries: the served version's own contract's features."""
    return [c for c in contract.columns if c.feature]


def _datatype(values: list) -> str:
    if all(isinstance(v, bool | int) for v in values):
        return "INT64"
    if all(isinstance(v, int | float) for v in values):
        return "FP64"
    return "BYTES"


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
        "datatype": _DATATYPES[column.kind][0],
        "shape": [-1],
        "parameters": parameters,
    }


def _outputs_metadata(contract) -> list[dict[str, Any]]:
    """Per task: the predicted class and its probabilities, or the predicted value."""
    if contract.task == "regression":
        return [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]
    label = _datatype(list(contract.classes))
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


def _fail(message: str) -> validation.RequestError:
    return validation.RequestError([{"loc": ["inputs"], "msg": message, "type": "value"}])


def _flat(tensor: dict[str, Any], name: str) -> list:
    """A column tensor's values: shape [N] or [N, 1], data flat or nested one level."""
    data = tensor.get("data")
    if not isinstance(data, list):
        raise _fail(f"input {name!r}: data must be a list of values")
    if data and all(isinstance(v, list) for v in data):
        if any(len(v) != 1 for v in data):
            raise _fail(f"input {name!r}: one value per row expected (shape [N] or [N, 1])")
        data = [v[0] for v in data]
    shape = tensor.get("shape")
    if shape is not None and shape not in ([len(data)], [len(data), 1]):
        raise _fail(
            f"input {name!r}: shape {shape} does not match its {len(data)} value(s); "
            "use [N] or [N, 1]"
        )
    return data


def _tensors(body: Any, contract) -> dict[str, dict]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise _fail('body must be {"inputs": [{"name", "shape", "datatype", "data"}, ...]}')
    known = {c.name: c for c in columns(contract)}
    tensors: dict[str, dict] = {}
    for index, tensor in enumerate(body["inputs"]):
        name = tensor.get("name") if isinstance(tensor, dict) else None
        if not isinstance(name, str):
            raise _fail(f"inputs[{index}]: every input needs a name")
        if name not in known:
            raise _fail(
                f"input {name!r} is not a column of this model; expected: {', '.join(known)}"
            )
        if name in tensors:
            raise _fail(f"input {name!r} appears twice")
        datatype = tensor.get("datatype")
        allowed = _DATATYPES[known[name].kind]
        if datatype is not None and datatype not in allowed:
            raise _fail(f"input {name!r}: datatype {datatype!r}; expected {' or '.join(allowed)}")
        tensors[name] = tensor
    missing = [n for n in known if n not in tensors]
    if missing:
        raise _fail(f"missing input(s): {', '.join(missing)} (one tensor per column)")
    return tensors


def rows(body: Any, model) -> list[dict[str, Any]]:
    """V2 inputs -> records validated against the routed version's contract, or
    ``RequestError`` whose message names the input."""
    columns_data = {name: _flat(t, name) for name, t in _tensors(body, model.contract).items()}
    lengths = {name: len(values) for name, values in columns_data.items()}
    if len(set(lengths.values())) > 1 or 0 in lengths.values():
        shown = ", ".join(f"{n}={k}" for n, k in lengths.items())
        raise _fail(f"every input needs the same number of values, at least one: {shown}")
    names = list(columns_data)
    records = [
        dict(zip(names, values, strict=True)) for values in zip(*columns_data.values(), strict=True)
    ]
    try:
        return model.validator.records({"records": records})
    except validation.RequestError as exc:
        raise _fail("; ".join(_named(e) for e in exc.errors[:20])) from exc


def _named(error: dict[str, Any]) -> str:
    """``records[i].col`` in /predict's terms -> ``input 'col' [i]`` in V2's."""
    loc = error.get("loc", [])
    if len(loc) == 3:
        shown = f" (got {error['input']!r})" if "input" in error else ""
        return f"input {loc[2]!r} [{loc[1]}]: {error['msg']}{shown}"
    return error.get("msg", "invalid request")


def infer_response(name: str, request_id: str, scored) -> dict[str, Any]:
    answer = scored.answer
    n = len(answer.predictions)
    outputs = [
        {"name": "predictions", "datatype": _datatype(answer.predictions), "shape": [n],
         "data": answer.predictions},
    ]  # fmt: skip
    if answer.probabilities is not None:
        shape = [n, len(answer.classes)] if answer.classes else [n]
        data = [p for row in answer.probabilities for p in row] if answer.classes else (
            answer.probabilities)  # fmt: skip
        outputs.append({"name": "probabilities", "datatype": "FP64", "shape": shape, "data": data})
    return {
        "model_name": name,
        "model_version": scored.version,
        "id": request_id,
        "parameters": {"route": scored.route},
        "outputs": outputs,
    }


def register(app: FastAPI, server) -> None:
    """Add the V2 routes to the server's app."""

    def served_name() -> str | None:
        routing = server.controller.routing
        return routing.stable.model if routing else None

    def unknown(name: str) -> Response | None:
        served = served_name()
        if served is None:
            reason = server.controller.deployed_nothing or server.controller.status.reason
            return _error(f"no model is loaded: {reason}", 503)
        if name != served:
            return _error(f"unknown model {name!r}; this server serves {served!r}", 404)
        return None

    @app.get("/v2", summary="V2: server metadata")
    async def server_metadata() -> Response:
        return _json({"name": "mlops-serve", "version": "2", "extensions": []})

    @app.get("/v2/health/live", summary="V2: the process is up")
    async def live() -> Response:
        return _json({"live": True})

    @app.get("/v2/health/ready", summary="V2: a model is loaded")
    async def ready() -> Response:
        is_ready = server.controller.routing is not None and server.readiness()[0]
        return _json({"ready": is_ready}, 200 if is_ready else 503)

    @app.get("/v2/models/{name}/ready", summary="V2: this model is loaded")
    async def model_ready(name: str) -> Response:
        return unknown(name) or _json({"name": name, "ready": True})

    @app.get("/v2/models/{name}", summary="V2: model metadata (one input per column)")
    async def metadata(name: str) -> Response:
        routing = server.controller.routing
        if problem := unknown(name):
            return problem
        return _json(
            model_metadata(name, [m.version for m, _ in routing.active()], routing.stable.contract)
        )

    @app.post("/v2/models/{name}/infer", summary="V2: predict (one input tensor per column)")
    async def infer(name: str, request: Request) -> Response:
        t0 = time.perf_counter()
        if problem := unknown(name):
            return problem
        try:
            body = await limits.read_body(request, server.settings.max_body_bytes)
        except limits.BodyTooLarge as exc:
            return _error(str(exc), 413)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return _error(f"malformed JSON: {exc}")
        request_id = (
            request.headers.get("x-request-id")
            or (parsed.get("id") if isinstance(parsed, dict) else None)
            or uuid.uuid4().hex
        )
        try:
            scored = await score(
                server, str(request_id), lambda model: rows(parsed, model), t0, BAD_REQUEST
            )
        except NotReady as exc:
            return _error(f"no model is loaded: {exc}", 503)
        except validation.RequestError as exc:
            return _error(exc.errors[0]["msg"])
        return _json(infer_response(name, str(request_id), scored), 200,
                     {"x-request-id": str(request_id)})  # fmt: skip
