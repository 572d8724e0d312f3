"""The Open Inference Protocol's inference request and answer, whatever carries them (REST with
or without the binary extension, gRPC): which inputs make which rows, which outputs a request
may name, and which request ids an answer can carry.

Tabular data follows MLServer's convention: one input tensor per column, all of the same length
(one element per row), strings as ``BYTES``. Every request is checked against the answering
version's own data contract before anything is scored or logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlops.serve import tensors, validation
from mlops.serve.tensors import fail

# Datatypes a column's tensor may have, the first being what the metadata advertises.
DATATYPES = {
    "int": ("INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"),
    "float": ("FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT32", "UINT16",
              "UINT8"),
    "category": ("BYTES",),
}  # fmt: skip
# Printable ASCII only: the id is echoed in the ``x-request-id`` header and the prediction log.
_SAFE_ID = re.compile(r"[\x20-\x7e]{1,256}")
SHOWN_ERRORS = 20  # of the validator's (at most ~100), in one V2 ``error`` line


@dataclass(frozen=True)
class Input:
    name: str
    datatype: str
    shape: Any
    values: list  # flat, as sent: JSON values, or decoded from raw bytes


@dataclass(frozen=True)
class Requested:
    name: str
    binary: bool = False  # REST: answer this output in the binary extension


@dataclass(frozen=True)
class Output:
    name: str
    datatype: str
    shape: list[int]
    values: list


def columns(contract) -> list:
    """The columns a request carries: the served version's own contract's features."""
    return [c for c in contract.columns if c.feature]


def output_names(contract) -> tuple[str, ...]:
    return ("predictions",) if contract.task == "regression" else ("predictions", "probabilities")


def check_id(value: Any) -> str:
    """A request id the answer can carry (header and body), or ``RequestError``."""
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value):
        shown = repr(value)[:80]
        raise fail(
            f"id {shown}: a request id must be 1 to 256 printable ASCII characters "
            "(it is echoed in the x-request-id header)"
        )
    return value


def _tensors(inputs: list[Input], contract) -> dict[str, Input]:
    if not inputs:
        raise fail('body must be {"inputs": [{"name", "shape", "datatype", "data"}, ...]}')
    known = {c.name: c for c in columns(contract)}
    found: dict[str, Input] = {}
    for tensor in inputs:
        if tensor.name not in known:
            raise fail(
                f"input {tensor.name!r} is not a column of this model; expected: {', '.join(known)}"
            )
        if tensor.name in found:
            raise fail(f"input {tensor.name!r} appears twice")
        allowed = DATATYPES[known[tensor.name].kind]
        if tensor.datatype not in allowed:
            raise fail(
                f"input {tensor.name!r}: datatype {tensor.datatype!r}; "
                f"expected {' or '.join(allowed)}"
            )
        found[tensor.name] = tensor
    missing = [n for n in known if n not in found]
    if missing:
        raise fail(f"missing input(s): {', '.join(missing)} (one tensor per column)")
    return found


def check_outputs(requested: tuple[Requested, ...] | None, contract) -> None:
    if requested is None:
        return
    names = output_names(contract)
    seen = set()
    for output in requested:
        if output.name not in names:
            raise fail(
                f"output {output.name!r} is not an output of this model; it has: {', '.join(names)}"
            )
        if output.name in seen:
            raise fail(f"output {output.name!r} is requested twice")
        seen.add(output.name)


def rows(inputs: list[Input], requested: tuple[Requested, ...] | None, model) -> list[dict]:
    """Inputs -> records validated against the routed version's contract, or ``RequestError``
    whose message names the input."""
    contract = model.contract
    check_outputs(requested, contract)
    columns_data = {}
    for name, tensor in _tensors(inputs, contract).items():
        tensors.check_shape(name, tensor.shape, len(tensor.values))
        columns_data[name] = tensors.apply(name, tensor.datatype, tensor.values)
    lengths = {name: len(values) for name, values in columns_data.items()}
    if len(set(lengths.values())) > 1 or 0 in lengths.values():
        shown = ", ".join(f"{n}={k}" for n, k in lengths.items())
        raise fail(f"every input needs the same number of values, at least one: {shown}")
    names = list(columns_data)
    records = [
        dict(zip(names, values, strict=True)) for values in zip(*columns_data.values(), strict=True)
    ]
    try:
        return model.validator.records({"records": records})
    except validation.RequestError as exc:
        shown = [_named(e) for e in exc.errors[:SHOWN_ERRORS]]
        if len(exc.errors) > SHOWN_ERRORS:
            shown.append(_more(exc.errors[SHOWN_ERRORS:]))
        raise fail("; ".join(shown)) from exc


def _more(rest: list[dict]) -> str:
    hidden = sum(e.get("count", 1) for e in rest)
    return f"and {hidden:,} more error(s)"


def _named(error: dict[str, Any]) -> str:
    """``records[i].col`` in /predict's terms -> ``input 'col' [i]`` in V2's."""
    loc = error.get("loc", [])
    if len(loc) == 3:
        shown = f" (got {error['input']!r})" if "input" in error else ""
        return f"input {loc[2]!r} [{loc[1]}]: {error['msg']}{shown}"
    return error.get("msg", "invalid request")


def outputs(answer, requested: tuple[Requested, ...] | None) -> list[Output]:
    """The answer as output tensors: every one, or those requested, in the request's order."""
    n = len(answer.predictions)
    made = {
        "predictions": Output(
            "predictions", tensors.datatype_of(answer.predictions), [n], answer.predictions
        )
    }
    if answer.probabilities is not None:
        if answer.classes:
            flat = [p for row in answer.probabilities for p in row]
            made["probabilities"] = Output("probabilities", "FP64", [n, len(answer.classes)], flat)
        else:
            made["probabilities"] = Output("probabilities", "FP64", [n], answer.probabilities)
    if requested is None:
        return list(made.values())
    return [made[r.name] for r in requested]
