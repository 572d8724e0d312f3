"""KServe's own REST client (``kserve.InferenceRESTClient``, Open Inference Protocol) against a
server, as a KServe user calls it: numpy inputs, sent with the binary tensor extension (the
client's default for ``set_data_from_numpy``).

Runs in KServe's environment (tests/serve/kserve_env.py), not the project's: it imports only
kserve, numpy and the standard library. Reads a JSON job on stdin:
``{"url", "model", "requests": [{"id", "inputs": [{"name", "datatype", "values"}]}]}`` and
writes one JSON answer per request on stdout: what the client saw, outputs as plain lists.
"""

import asyncio
import json
import sys

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput

DTYPES = {"INT64": np.int64, "FP64": np.float64, "BYTES": np.object_}


def _inputs(tensors: list[dict]) -> list:
    out = []
    for tensor in tensors:
        values = [np.nan if v is None else v for v in tensor["values"]]
        array = np.array(values, dtype=DTYPES[tensor["datatype"]])
        infer_input = InferInput(tensor["name"], list(array.shape), tensor["datatype"])
        infer_input.set_data_from_numpy(array)  # binary_data=True: the binary extension
        out.append(infer_input)
    return out


def _outputs(response) -> dict:
    return {o.name: o.as_numpy().tolist() for o in response.outputs}


async def _answer(client, url: str, model: str, request: dict) -> dict:
    json_out = await client.infer(
        url, InferRequest(model, _inputs(request["inputs"]), request_id=request["id"]), model
    )
    binary = [RequestedOutput(n, parameters={"binary_data": True})
              for n in ("predictions", "probabilities")]  # fmt: skip
    binary_out = await client.infer(
        url,
        InferRequest(
            model, _inputs(request["inputs"]), request_id=request["id"], request_outputs=binary
        ),
        model,
        response_headers=(headers := {}),
    )
    return {
        "id": json_out.id,
        "json": _outputs(json_out),
        "binary": _outputs(binary_out),
        # the JSON header's length, and the body's: the outputs' raw bytes follow the header
        "binary_lengths": [
            int(headers.get("inference-header-content-length", -1)),
            int(headers["content-length"]),
        ],
    }


async def main(job: dict) -> dict:
    url, model = job["url"], job["model"]
    config = RESTConfig(protocol="v2", retries=0, timeout=60)
    async with InferenceRESTClient(config) as client:
        seen = {
            "live": await client.is_server_live(url),
            "ready": await client.is_server_ready(url),
            "model_ready": await client.is_model_ready(url, model),
            "other_model_ready": await client.is_model_ready(url, "no-such-model"),
            "answers": [await _answer(client, url, model, r) for r in job["requests"]],
        }
        try:
            await client.infer(url, InferRequest("no-such-model", _inputs(
                job["requests"][0]["inputs"])), "no-such-model")  # fmt: skip
            seen["refused"] = None
        except httpx.HTTPStatusError as refused:
            seen["refused"] = [refused.response.status_code, str(refused)]
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
