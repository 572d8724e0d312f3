"""The routing snapshot: which loaded model serves which share of requests.

A ``Routing`` is immutable. The controller builds a new one off the request path and swaps it in
with one reference assignment; a request reads the reference once and uses that snapshot from
start to end, so a swap never mixes two states within one request.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops.formats.contract import Contract
from mlops.serve import answers, validation

STABLE = "stable"
CANARY = "canary"
SHADOW = "shadow"
SHADOW_SALT = 0x5AD0  # a second CRC32 stream: which requests a shadow sees is independent of the
# canary split (a 10 % canary and a 10 % shadow are not the same requests)


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model that was fetched, verified, loaded, warmed up and checked."""

    model: str  # registry name, e.g. churn-model
    version: str
    digest: str
    estimator: Any
    threshold: float = 0.5  # binary: the positive class's probability at or above which it wins
    load_seconds: float = 0.0
    predictor: Any = None  # mlops.inference.Predictor: the path chosen (and checked) at load
    contract: Contract | None = None  # the one it was trained with; None: the bundled sample's

    def __post_init__(self) -> None:
        if self.contract is None:  # artifacts made before models carried their contract
            from mlops.data import sample

            object.__setattr__(self, "contract", sample.contract())

    @property
    def validator(self) -> validation.Validator:
        return validation.for_contract(self.contract)

    def infer(self, rows: list[dict[str, Any]]) -> np.ndarray:
        """The model's answer for validated records (``answers.outputs``: per task), by the
        inference path chosen at load (``mlops.inference``), else the pipeline on a frame."""
        if self.predictor is not None:
            return answers.from_raw(self.predictor.outputs(rows), self.contract)
        return answers.outputs(self.estimator, self.validator.frame(rows), self.contract)

    def answer(self, values: np.ndarray) -> answers.Answer:
        return answers.answer(self.contract, values, self.threshold)

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
    shadow: LoadedModel | None = None  # scores requests off the answer's path, never answers
    shadow_traffic: int = 0  # percent of requests the shadow scores

    def choose(self, request_id: str) -> tuple[LoadedModel, str]:
        """Deterministic split: the same request id always takes the same route."""
        if self.canary is not None and bucket(request_id) < self.traffic:
            return self.canary, CANARY
        return self.stable, STABLE

    def shadowed(self, request_id: str) -> LoadedModel | None:
        """The shadow, when it scores this request (deterministic, like ``choose``)."""
        if self.shadow is None:
            return None
        if self.shadow_traffic >= 100:
            return self.shadow
        share = zlib.crc32(request_id.encode(), SHADOW_SALT) % 100
        return self.shadow if share < self.shadow_traffic else None

    def active(self) -> list[tuple[LoadedModel, str]]:
        routes = [(self.stable, STABLE)]
        if self.canary is not None:
            routes.append((self.canary, CANARY))
        if self.shadow is not None:
            routes.append((self.shadow, SHADOW))
        return routes


def bucket(request_id: str) -> int:
    """0..99 from the request id; stable across processes and restarts (unlike ``hash``)."""
    return zlib.crc32(request_id.encode()) % 100
