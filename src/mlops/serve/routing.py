"""The routing snapshot: which loaded model serves which share of requests.

A ``Routing`` is immutable. The controller builds a new one off the request path and swaps it in
with one reference assignment; a request reads the reference once and uses that snapshot from
start to end, so a swap never mixes two states within one request.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

STABLE = "stable"
CANARY = "canary"


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model that was fetched, verified, loaded, warmed up and checked."""

    model: str  # registry name, e.g. churn-model
    version: str
    digest: str
    estimator: Any
    threshold: float = 0.5  # probability at or above which the prediction is 1
    load_seconds: float = 0.0
    predictor: Any = None  # mlops.inference.Predictor: the path chosen (and checked) at load

    def predict_proba(self, rows: list[dict[str, Any]]) -> Any:
        """Positive-class probabilities of validated records, by the path chosen at load."""
        return self.predictor.outputs(rows)[:, 1]

    @property
    def fast(self) -> bool:
        """Predicts in well under a millisecond: a compiled or array path, not the pipeline."""
        return self.predictor is not None and self.predictor.info.path != "pipeline"

    @property
    def inference(self) -> dict[str, Any] | None:
        return self.predictor.info.as_dict() if self.predictor is not None else None


@dataclass(frozen=True)
class Routing:
    commit: str
    stable: LoadedModel
    canary: LoadedModel | None = None
    traffic: int = 0  # percent of requests the canary serves

    def choose(self, request_id: str) -> tuple[LoadedModel, str]:
        """Deterministic split: the same request id always takes the same route."""
        if self.canary is not None and bucket(request_id) < self.traffic:
            return self.canary, CANARY
        return self.stable, STABLE

    def active(self) -> list[tuple[LoadedModel, str]]:
        routes = [(self.stable, STABLE)]
        if self.canary is not None:
            routes.append((self.canary, CANARY))
        return routes


def bucket(request_id: str) -> int:
    """0..99 from the request id; stable across processes and restarts (unlike ``hash``)."""
    return zlib.crc32(request_id.encode()) % 100
