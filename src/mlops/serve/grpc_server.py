"""The Open Inference Protocol over gRPC (``inference.GRPCInferenceService``) on a second port.

Same contract as the REST routes (``oip``: inputs, datatypes, shapes, outputs, ids), same routing
snapshot, canary split, batcher, metrics and prediction log: a request is handed to the worker's
event loop and scored by ``scoring.score`` exactly as ``POST /v2/models/<m>/infer`` is. Each
worker process listens on the port (SO_REUSEPORT, as uvicorn's workers share theirs); messages
above the server's body limit are refused unread, so one request's memory stays bounded.

    RESOURCE_EXHAUSTED  the message is larger than --max-body-mb
    INVALID_ARGUMENT    a request the contract refuses (the message names the input)
    NOT_FOUND           a model or version this server does not hold
    UNAVAILABLE         no model is loaded yet
"""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent import futures

import grpc

from mlops.serve import oip, tensors, v2, validation
from mlops.serve.proto import inference_pb2 as pb
from mlops.serve.scoring import NotReady, score

SERVICE = "inference.GRPCInferenceService"
REQUEST_TIMEOUT_S = 60
THREADS = 8  # each waits on the event loop's batcher; the batcher does the work
_CONTENTS = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents",
    "INT32": "int_contents", "INT64": "int64_contents", "UINT8": "uint_contents",
    "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
    "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}  # fmt: skip


class _Refused(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def _inputs(request: pb.ModelInferRequest) -> list[oip.Input]:
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise tensors.fail(
            f"raw_input_contents holds {len(raw)} tensor(s) for {len(request.inputs)} input(s)"
        )
    out = []
    for index, tensor in enumerate(request.inputs):
        name, datatype = tensor.name, tensor.datatype
        if not datatype or not tensor.shape:
            raise tensors.fail(f"input {name!r}: 'datatype' and 'shape' are required")
        if datatype not in _CONTENTS:
            raise tensors.fail(f"input {name!r}: unknown datatype {datatype!r}")
        if raw:
            values = tensors.from_raw(name, datatype, raw[index])
        else:
            values = list(getattr(tensor.contents, _CONTENTS[datatype]))
        out.append(oip.Input(name, datatype, list(tensor.shape), values))
    return out


class Service:
    """The RPCs, each answered from this worker's ``Server`` (routing, batcher, log)."""

    def __init__(self, server, loop: asyncio.AbstractEventLoop):
        self.server = server
        self.loop = loop

    def _model(self, name: str, version: str):
        """The model ``name`` (at ``version``, when given) or ``_Refused``."""
        routing = self.server.controller.routing
        if routing is None:
            raise _Refused(grpc.StatusCode.UNAVAILABLE, "no model is loaded")
        if name != routing.stable.model:
            raise _Refused(
                grpc.StatusCode.NOT_FOUND,
                f"unknown model {name!r}; this server serves {routing.stable.model!r}",
            )
        held = v2.held(self.server)
        if version and version not in held:
            raise _Refused(
                grpc.StatusCode.NOT_FOUND,
                f"model {name!r} has no version {version!r} on this server; "
                f"it holds: {', '.join(held)}",
            )
        return held[version] if version else routing.stable

    def ServerLive(self, request, context):
        return pb.ServerLiveResponse(live=True)

    def ServerReady(self, request, context):
        ready = self.server.controller.routing is not None and self.server.readiness()[0]
        return pb.ServerReadyResponse(ready=ready)

    def ServerMetadata(self, request, context):
        return pb.ServerMetadataResponse(
            name="mlops-serve", version="2", extensions=["binary_tensor_data"]
        )

    def ModelReady(self, request, context):
        try:
            self._model(request.name, request.version)
        except _Refused:
            return pb.ModelReadyResponse(ready=False)
        return pb.ModelReadyResponse(ready=True)

    def ModelMetadata(self, request, context):
        model = self._model(request.name, request.version)
        meta = v2.model_metadata(request.name, list(v2.held(self.server)), model.contract)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"], versions=meta["versions"], platform=meta["platform"],
            inputs=[tensor(name=t["name"], datatype=t["datatype"], shape=t["shape"])
                    for t in meta["inputs"]],
            outputs=[tensor(name=t["name"], datatype=t["datatype"], shape=t["shape"])
                     for t in meta["outputs"]],
        )  # fmt: skip

    def ModelInfer(self, request, context):
        t0 = time.perf_counter()
        self._model(request.model_name, request.model_version)
        request_id = oip.check_id(request.id) if request.id else uuid.uuid4().hex
        inputs = _inputs(request)
        requested = tuple(oip.Requested(o.name) for o in request.outputs) or None
        pick = v2.picker(self.server, request.model_version) if request.model_version else None
        scoring = score(
            self.server, request_id, lambda model: oip.rows(inputs, requested, model),
            t0, v2.BAD_REQUEST, pick,
        )  # fmt: skip
        scored = asyncio.run_coroutine_threadsafe(scoring, self.loop).result(REQUEST_TIMEOUT_S)
        response = pb.ModelInferResponse(
            model_name=request.model_name, model_version=scored.version, id=request_id
        )
        response.parameters["route"].string_param = scored.route
        for output in oip.outputs(scored.answer, requested):
            response.outputs.add(name=output.name, datatype=output.datatype, shape=output.shape)
            response.raw_output_contents.append(tensors.to_raw(output.datatype, output.values))
        return response


def _guarded(method):
    """The RPC with each refusal turned into its gRPC status, never a traceback."""

    def call(request, context):
        try:
            return method(request, context)
        except _Refused as exc:
            context.abort(exc.code, str(exc))
        except validation.RequestError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.errors[0]["msg"])
        except NotReady as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"no model is loaded: {exc}")

    return call


_TYPES = {
    "ServerLive": (pb.ServerLiveRequest, pb.ServerLiveResponse),
    "ServerReady": (pb.ServerReadyRequest, pb.ServerReadyResponse),
    "ServerMetadata": (pb.ServerMetadataRequest, pb.ServerMetadataResponse),
    "ModelReady": (pb.ModelReadyRequest, pb.ModelReadyResponse),
    "ModelMetadata": (pb.ModelMetadataRequest, pb.ModelMetadataResponse),
    "ModelInfer": (pb.ModelInferRequest, pb.ModelInferResponse),
}


def start(server, loop: asyncio.AbstractEventLoop) -> grpc.Server:
    """Listen on ``settings.host:settings.grpc_port``; returns the running gRPC server."""
    settings = server.settings
    service = Service(server, loop)
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(
            _guarded(getattr(service, name)),
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )
        for name, (request, response) in _TYPES.items()
    }
    limit = settings.max_body_bytes
    rpc = grpc.server(
        futures.ThreadPoolExecutor(THREADS, thread_name_prefix="grpc"),
        handlers=[grpc.method_handlers_generic_handler(SERVICE, handlers)],
        options=[("grpc.max_receive_message_length", limit), ("grpc.so_reuseport", 1)],
    )
    rpc.add_insecure_port(f"{settings.host}:{settings.grpc_port}")
    rpc.start()
    return rpc
