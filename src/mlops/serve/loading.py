"""Loading a model version for serving: fetch the artifact, load it only after its digest
matches the pin, choose its inference path on a fixed sample, warm it up and check the answers
are usable; the threshold and contract the artifact carries."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mlops import inference
from mlops.core import paths, tools
from mlops.core.errors import MlopsError
from mlops.formats.contract import Contract, contract_of
from mlops.formats.models_file import Pin
from mlops.model import model_io, registry
from mlops.serve import answers
from mlops.serve.routing import LoadedModel, Routing

SAMPLE_ROWS = 64
SAMPLE_SEED = 20261122


class ReconcileError(MlopsError):
    """A desired version cannot be made live; the message is the ``Degraded`` reason."""


def sample_records(contract: Contract) -> list[dict[str, Any]]:
    """A fixed sample every new model must score before it is swapped in: records the model's
    own contract accepts (``mlops.serve.samples``); nullable columns are null in some rows, so
    the inference parity gate covers imputation too."""
    from mlops.serve.samples import synthetic_records

    return synthetic_records(contract, SAMPLE_ROWS, SAMPLE_SEED)


def with_predictor(loaded: LoadedModel, rows: list[dict[str, Any]], label: str) -> LoadedModel:
    """The model with its inference path chosen (and parity-checked) on ``rows``; logged."""
    rows = loaded.validator.records({"records": rows})
    predictor = inference.load(loaded.estimator, rows, loaded.validator.frame)
    print(f"serve: {label}: inference {predictor.info.describe()}", file=sys.stderr, flush=True)
    return dataclasses.replace(loaded, predictor=predictor)


def check_model(loaded: LoadedModel, rows: list[dict[str, Any]]) -> None:
    """Warm up (a batch and single rows) and check the answers are usable for the task."""
    rows = loaded.validator.records({"records": rows})
    values = np.asarray(loaded.infer(rows))
    for row in rows[:3]:
        loaded.infer([row])
    problem = answers.problem(loaded.contract, values, len(rows))
    if problem:
        raise ReconcileError(f"{loaded.version}: warm-up {problem}")


def load_model(
    root: Path, model: str, pin: Pin, version: registry.Version, cache_dir: Path
) -> LoadedModel:
    """The version's artifact fetched, loaded once its digest matches the pin, its inference
    path chosen and warmed up on a fixed sample; ``ReconcileError`` when any step fails."""
    t0 = time.perf_counter()
    path = registry.fetch_artifact(root, version, cache_dir)
    try:
        estimator = model_io.load(path, expected_digest=pin.digest)
    except MlopsError:
        raise
    except Exception as exc:
        raise ReconcileError(
            f"{version.tag}: {path.name} does not load ({type(exc).__name__}: {exc})"
        ) from exc
    loaded = LoadedModel(model, pin.version, pin.digest, estimator,
                         threshold=artifact_threshold(estimator, root, version),
                         contract=model_contract(estimator, version.tag))  # fmt: skip
    loaded = with_predictor(loaded, sample_records(loaded.contract), version.tag)
    try:
        check_model(loaded, sample_records(loaded.contract))
    except ReconcileError:
        raise
    except Exception as exc:
        raise ReconcileError(
            f"{version.tag}: warm-up failed ({type(exc).__name__}: {exc})"
        ) from exc
    return dataclasses.replace(loaded, load_seconds=round(time.perf_counter() - t0, 3))


def inference_paths(routing: Routing | None) -> dict[str, Any]:
    """The inference path of each routed model (``mlops.inference``): which one, and why."""
    if routing is None:
        return {}
    return {route: loaded.inference for loaded, route in routing.active()}


def artifact_threshold(estimator, root: Path, version: registry.Version) -> float:
    """The decision threshold the artifact carries; for an artifact made before artifacts
    carried it, what the commit that trained it recorded (Git, never the tag's text)."""
    from mlops.model.thresholds import of_model

    def at_commit(path: str) -> Any:
        text = tools.git("show", f"{version.commit}:{path}", cwd=root, check=False)
        try:
            return yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            return None

    recorded = {"metrics": at_commit(paths.METRICS), "params": at_commit("params.yaml")}
    return of_model(estimator, {k: v for k, v in recorded.items() if isinstance(v, dict)})


def model_contract(estimator, tag: str) -> Contract | None:
    """The contract the version was trained with; None (the bundled sample's) for artifacts
    made before models carried one."""
    try:
        return contract_of(estimator)
    except MlopsError as exc:
        raise ReconcileError(f"{tag}: the contract inside the model is malformed: {exc}") from exc
