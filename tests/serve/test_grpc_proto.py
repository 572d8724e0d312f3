"""The committed gRPC messages are what inference.proto generates (`make proto`), and a request's
tensors read the same from raw bytes as from typed contents (Triton's own clients are in
test_serve_oip.py, against real servers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlops.serve import grpc_server, validation
from mlops.serve.proto import generate
from mlops.serve.proto import inference_pb2 as pb

PROTO = Path(grpc_server.__file__).parent / "proto"


def test_generated_messages_match_the_proto(tmp_path):
    generated = generate.generate(tmp_path).read_text()
    assert generated == (PROTO / "inference_pb2.py").read_text(), "run `make proto`"
    assert generate.OWN_POOL in generated  # importable beside tritonclient's messages


def test_our_messages_and_tritonclients_load_in_one_process():
    """A process that uses both (a client and a server in one test, a user's own tooling)."""
    code = (
        "from mlops.serve.proto import inference_pb2 as pb; import tritonclient.grpc; "
        "r = pb.ModelInferRequest(model_name='m'); "
        "print(pb.ModelInferRequest.FromString(r.SerializeToString()).model_name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "m"


def test_raw_and_typed_contents_read_alike_and_a_bad_tensor_is_named():
    """Clients send raw little-endian bytes (Triton's) or typed contents; both read the same."""
    raw = pb.ModelInferRequest(model_name="churn-model", id="req-1")
    raw.inputs.add(name="tenure_months", datatype="INT64", shape=[2])
    raw.raw_input_contents.append(np.array([14, 3], dtype="<i8").tobytes())
    typed = pb.ModelInferRequest(model_name="churn-model")
    typed_input = typed.inputs.add(name="tenure_months", datatype="INT64", shape=[2])
    typed_input.contents.int64_contents[:] = [14, 3]
    for request in (raw, typed):
        [tensor] = grpc_server._inputs(pb.ModelInferRequest.FromString(request.SerializeToString()))
        assert (tensor.name, tensor.datatype, tensor.shape, tensor.values) == (
            "tenure_months", "INT64", [2], [14, 3]
        )  # fmt: skip
    odd = pb.ModelInferRequest(model_name="churn-model")
    odd.inputs.add(name="tenure_months", datatype="INT64", shape=[2])
    odd.raw_input_contents.append(b"\x01" * 12)  # not a whole number of INT64 values
    with pytest.raises(validation.RequestError) as refused:
        grpc_server._inputs(odd)
    assert "12 bytes is not a whole number of INT64 values" in refused.value.errors[0]["msg"]
