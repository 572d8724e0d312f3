"""Request-body schemas for the server's OpenAPI document (``/openapi.json``).

The prediction routes read their bodies themselves (size limit first, then the data contract of
the version that answers), so FastAPI cannot infer these: they describe the shape a client sends,
for generated clients and for the fuzzing in the test suite. The contract's own rules (columns,
kinds, ranges) are checked per request and answered with 422 (``/predict``) or 400 (``/v2``).
"""

from __future__ import annotations

from typing import Any

from mlops.serve.tensors import DATATYPES

_PREDICT = {
    "type": "object",
    "required": ["records"],
    "properties": {
        "records": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object", "additionalProperties": True},
        }
    },
}
_TENSOR = {
    "type": "object",
    "required": ["name", "datatype", "shape"],
    "properties": {
        "name": {"type": "string"},
        "datatype": {"type": "string", "enum": list(DATATYPES)},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "data": {"type": "array"},
        "parameters": {"type": "object"},
    },
}
_INFER = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string"},
        "inputs": {"type": "array", "items": _TENSOR},
        "outputs": {
            "type": "array",
            "items": {"type": "object", "required": ["name"],
                      "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}}},
        },
        "parameters": {"type": "object"},
    },
}  # fmt: skip


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


PREDICT = _body(_PREDICT)
INFER = _body(_INFER)
