"""The Open Inference Protocol's REST bodies: JSON, and the binary tensor extension.

With the extension a body is a JSON header of ``Inference-Header-Content-Length`` bytes followed
by the raw tensors, each input naming its size in ``parameters.binary_data_size``, in order. An
answer uses it for the outputs that ask for ``parameters.binary_data`` (or every output when the
request's ``parameters.binary_data_output`` is true), the way Triton does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from mlops.serve import oip, tensors
from mlops.serve.tensors import fail

HEADER_LENGTH = "inference-header-content-length"
BINARY = "application/octet-stream"


@dataclass(frozen=True)
class InferBody:
    id: str | None
    inputs: list[oip.Input]
    requested: tuple[oip.Requested, ...] | None
    binary_output: bool  # for outputs that do not say


def _header_length(value: str | None, size: int) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) > size:
        raise fail(
            f"Inference-Header-Content-Length {value!r}: must be the size in bytes of the JSON "
            f"header, at most the body's {size}"
        )
    return int(value)


def parse(body: bytes, header_length: str | None) -> InferBody:
    """A REST infer body -> its id, inputs (raw bytes decoded), requested outputs."""
    length = _header_length(header_length, len(body))
    head, binary = (body, b"") if length is None else (body[:length], body[length:])
    try:
        parsed = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        hint = "" if length else " (binary data needs the Inference-Header-Content-Length header)"
        raise fail(f"malformed JSON: {exc}{hint}") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("inputs"), list):
        raise fail('body must be {"inputs": [{"name", "shape", "datatype", "data"}, ...]}')
    request_id = oip.check_id(parsed["id"]) if "id" in parsed else None
    inputs, used = [], 0
    for index, tensor in enumerate(parsed["inputs"]):
        one, used = _input(index, tensor, binary, used)
        inputs.append(one)
    if used != len(binary):
        raise fail(f"{len(binary) - used} byte(s) of binary data belong to no input")
    binary_output = _flag(_parameters(parsed, "request"), "binary_data_output")
    return InferBody(request_id, inputs, _requested(parsed, binary_output), binary_output)


def _parameters(obj: dict, what: str) -> dict:
    params = obj.get("parameters", {})
    if not isinstance(params, dict):
        raise fail(f"{what} parameters must be an object")
    return params


def _flag(params: dict, key: str, default: bool = False) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise fail(f"parameter {key!r} must be true or false, got {value!r}")
    return value


def _input(index: int, tensor: Any, binary: bytes, used: int) -> tuple[oip.Input, int]:
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise fail(f"inputs[{index}]: every input needs a name")
    name = tensor["name"]
    for key in ("datatype", "shape"):
        if key not in tensor:
            raise fail(f"input {name!r}: {key!r} is required")
    datatype = tensor["datatype"]
    if datatype not in tensors.DATATYPES:
        raise fail(f"input {name!r}: unknown datatype {datatype!r}")
    size = _parameters(tensor, f"input {name!r}").get("binary_data_size")
    if size is None:
        if "data" not in tensor:
            raise fail(f"input {name!r}: needs 'data' or parameters.binary_data_size")
        values = tensors.flatten(name, tensor["data"])
        return oip.Input(name, datatype, tensor["shape"], values), used
    if "data" in tensor:
        raise fail(f"input {name!r}: has both 'data' and parameters.binary_data_size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise fail(f"input {name!r}: binary_data_size must be a non-negative integer")
    if used + size > len(binary):
        raise fail(f"input {name!r}: binary_data_size {size} runs past the body's binary data")
    values = tensors.from_raw(name, datatype, binary[used : used + size])
    return oip.Input(name, datatype, tensor["shape"], values), used + size


def _requested(parsed: dict, binary_output: bool) -> tuple[oip.Requested, ...] | None:
    if "outputs" not in parsed:
        return None
    if not isinstance(parsed["outputs"], list):
        raise fail('outputs must be a list of {"name": ...}')
    out = []
    for index, output in enumerate(parsed["outputs"]):
        if not isinstance(output, dict) or not isinstance(output.get("name"), str):
            raise fail(f"outputs[{index}]: every requested output needs a name")
        params = _parameters(output, f"output {output['name']!r}")
        out.append(oip.Requested(output["name"], _flag(params, "binary_data", binary_output)))
    return tuple(out)


def answer(head: dict[str, Any], body: InferBody, made: list[oip.Output]) -> tuple[bytes, dict]:
    """The response body and its extra headers: JSON, or a JSON header and raw outputs."""
    binary = {r.name: r.binary for r in body.requested or ()}
    outputs, raw = [], []
    for output in made:
        tensor: dict[str, Any] = {
            "name": output.name, "datatype": output.datatype, "shape": output.shape,
        }  # fmt: skip
        if binary.get(output.name, body.binary_output):
            data = tensors.to_raw(output.datatype, output.values)
            tensor["parameters"] = {"binary_data_size": len(data)}
            raw.append(data)
        else:
            tensor["data"] = output.values
        outputs.append(tensor)
    header = orjson.dumps({**head, "outputs": outputs})
    if not raw:
        return header, {}
    return header + b"".join(raw), {HEADER_LENGTH: str(len(header))}
