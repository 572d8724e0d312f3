"""Tensors of the Open Inference Protocol, whatever carries them (JSON, the binary extension,
gRPC): datatypes applied as Triton applies them, shapes checked, raw bytes read and written.

A column's tensor holds one element per row: shape ``[N]`` or ``[N, 1]``. Its ``datatype`` and
``shape`` are required. Values are read as the datatype says: an ``INT*`` tensor takes integers
in the type's range only (``99.17`` under ``INT32`` is refused, never truncated), ``FP32`` and
``FP16`` values are rounded to that precision, ``BYTES`` are UTF-8 text. In a floating-point
tensor ``NaN`` stands for a missing value (null), which the data contract then accepts or not.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from mlops.serve import validation

INTEGERS = {
    "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8",
    "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8",
}  # fmt: skip
FLOATS = {"FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}
NUMPY = {**INTEGERS, **FLOATS, "BOOL": "|b1"}
DATATYPES = (*NUMPY, "BYTES")
_LENGTH = struct.Struct("<I")


def fail(message: str) -> validation.RequestError:
    return validation.RequestError([{"loc": ["inputs"], "msg": message, "type": "value"}])


def _range(datatype: str) -> tuple[int, int]:
    info = np.iinfo(np.dtype(INTEGERS[datatype]))
    return int(info.min), int(info.max)


def datatype_of(values: list) -> str:
    """The datatype an output's values have: INT64, FP64 or BYTES."""
    if all(isinstance(v, bool | int) for v in values):
        return "INT64"
    if all(isinstance(v, int | float) for v in values):
        return "FP64"
    return "BYTES"


def check_shape(name: str, shape: Any, count: int) -> None:
    """A column's shape: ``[N]`` or ``[N, 1]`` with N the number of values it carries."""
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise fail(f"input {name!r}: shape must be a list of non-negative integers, got {shape!r}")
    if shape not in ([count], [count, 1]):
        raise fail(
            f"input {name!r}: shape {shape} does not match its {count} value(s); "
            "use [N] or [N, 1] (one value per row)"
        )


def flatten(name: str, data: Any) -> list:
    """JSON ``data``, flat or nested one level per row (``[[v], [v]]``), as a flat list."""
    if not isinstance(data, list):
        raise fail(f"input {name!r}: data must be a list of values")
    if data and any(isinstance(v, list) for v in data):
        if not all(isinstance(v, list) and len(v) == 1 for v in data):
            raise fail(f"input {name!r}: one value per row expected (shape [N] or [N, 1])")
        data = [v[0] for v in data]
    return data


def apply(name: str, datatype: str, values: list) -> list:
    """``values`` read as ``datatype`` says, or ``RequestError`` naming the first that cannot be."""
    if datatype in INTEGERS:
        low, high = _range(datatype)
        for index, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise fail(
                    f"input {name!r} [{index}]: {v!r} is not a {datatype} value "
                    f"(an integer from {low} to {high})"
                )
        return values
    if datatype in FLOATS:
        out = []
        for index, v in enumerate(values):
            if v is None:
                out.append(None)
            elif isinstance(v, bool) or not isinstance(v, int | float):
                raise fail(f"input {name!r} [{index}]: {v!r} is not a {datatype} value")
            else:
                out.append(_float(v, datatype))
        return out
    if datatype == "BYTES":
        return [_text(name, index, v) for index, v in enumerate(values)]
    raise fail(f"input {name!r}: datatype {datatype!r} is not one this server reads")


def _float(value: float, datatype: str) -> float | None:
    if datatype != "FP64":
        value = float(np.dtype(FLOATS[datatype]).type(value))
    return None if isinstance(value, float) and math.isnan(value) else value


def _text(name: str, index: int, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise fail(f"input {name!r} [{index}]: BYTES value is not UTF-8 text") from None
    raise fail(f"input {name!r} [{index}]: {value!r} is not a BYTES value (a string)")


def from_raw(name: str, datatype: str, raw: bytes) -> list:
    """Raw little-endian bytes (the binary extension, gRPC's raw contents) as values."""
    if datatype == "BYTES":
        return _split_bytes(name, raw)
    if datatype not in NUMPY:
        raise fail(f"input {name!r}: datatype {datatype!r} is not one this server reads")
    dtype = np.dtype(NUMPY[datatype])
    if len(raw) % dtype.itemsize:
        raise fail(
            f"input {name!r}: {len(raw)} bytes is not a whole number of {datatype} values "
            f"({dtype.itemsize} bytes each)"
        )
    return np.frombuffer(raw, dtype=dtype).tolist()


def _split_bytes(name: str, raw: bytes) -> list[bytes]:
    """BYTES elements: each a 4-byte little-endian length, then that many bytes."""
    out, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise fail(f"input {name!r}: BYTES data ends inside an element's length")
        (size,) = _LENGTH.unpack_from(raw, offset)
        offset += 4
        if offset + size > len(raw):
            raise fail(f"input {name!r}: BYTES element of {size} bytes runs past the data")
        out.append(raw[offset : offset + size])
        offset += size
    return out


def to_raw(datatype: str, values: list) -> bytes:
    """Values as raw little-endian bytes, the inverse of ``from_raw``."""
    if datatype == "BYTES":
        parts = []
        for v in values:
            data = v if isinstance(v, bytes) else str(v).encode()
            parts += [_LENGTH.pack(len(data)), data]
        return b"".join(parts)
    return np.asarray(values, dtype=np.dtype(NUMPY[datatype])).tobytes()
