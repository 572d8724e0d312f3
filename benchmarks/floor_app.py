"""The HTTP floor of `mlops serve`'s stack: FastAPI + uvicorn + orjson, the same request body
parsed, a constant answer, no model. `benchmarks/serving.py` serves it with uvicorn beside
`mlops serve` (same workers, same uvicorn options) so both are measured under the same load.

    python -m uvicorn floor_app:app --app-dir benchmarks --workers 2 --port 8999
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

ANSWER = orjson.dumps(
    {
        "predictions": [1],
        "probabilities": [0.71],
        "model_version": "v0.0.1",
        "route": "stable",
        "request_id": "0" * 32,
    }
)

app = FastAPI(title="the HTTP floor")


@app.post("/predict")
async def predict(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(ANSWER, media_type="application/json")
