"""The inference path of a fitted model, chosen once at load time, behind one parity gate.

The skops file stays the one artifact: a ``Pipeline`` of a ``ColumnTransformer`` and an
estimator. At load, ``load`` builds the fastest path this module can reproduce it with:

- ``compiled``: preprocessing on arrays (``features.ArrayFeatures``) and a tree ensemble run by
  treelite's GTIL (``trees.TreeliteEnsemble``);
- ``arrays``: preprocessing on arrays and the estimator's own method on the matrix (linear
  models and anything else treelite does not run);
- ``pipeline``: the pipeline on a pandas frame, exactly as trained.

**Parity is a gate**: a faster path serves only when it reproduces the pipeline's outputs on the
sample it is given (max difference at most ``PARITY_TOLERANCE``, batch and single rows: absolute
for outputs up to 1 in size, such as probabilities, relative above that, so a regression on prices
in the millions is held to float64's own precision rather than to an impossible absolute one);
otherwise the pipeline serves and ``Inference.reason`` says why. ``MLOPS_INFERENCE=pipeline``
in the environment switches the faster paths off.
Outputs are ``predict_proba`` (n, classes) for classifiers and ``predict`` (n,) for regressors.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from mlops.inference.features import ArrayFeatures, Unsupported

PARITY_TOLERANCE = 1e-9
# MLOPS_INFERENCE=pipeline serves every model through its pipeline (e.g. to rule the compiled
# path out while chasing a bug); read at each load, by the server and the evaluate stage alike
SWITCH = "MLOPS_INFERENCE"
SINGLE_ROW_CHECKS = 8  # the sample's first rows are also predicted one at a time

COMPILED = "compiled"
ARRAYS = "arrays"
PIPELINE = "pipeline"

Rows = Sequence[dict[str, Any]]
ToFrame = Callable[[Rows], Any]  # records -> the frame the pipeline was trained on


@dataclass(frozen=True)
class Inference:
    """How a model is served, and why; ``/version`` and the server log show it."""

    path: str  # compiled | arrays | pipeline
    engine: str
    reason: str = ""  # why a faster path is not used; "" when it is
    parity_max_abs_diff: float | None = None
    parity_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        text = f"{self.path} ({self.engine})"
        if self.parity_max_abs_diff is not None:
            diff, rows = self.parity_max_abs_diff, self.parity_rows
            text += f", parity max abs diff {diff:.3g} on {rows} rows"
        return text + (f"; {self.reason}" if self.reason else "")


class Predictor:
    """Records -> outputs; ``info`` says which path and why."""

    info: Inference
    classifier: bool

    def outputs(self, rows: Rows) -> np.ndarray:
        raise NotImplementedError


class PipelinePredictor(Predictor):
    def __init__(self, pipeline: Any, to_frame: ToFrame, info: Inference | None = None):
        self.pipeline = pipeline
        self.to_frame = to_frame
        self.classifier = is_classifier(pipeline)
        self._method = pipeline.predict_proba if self.classifier else pipeline.predict
        self.info = info or Inference(PIPELINE, "sklearn Pipeline on a pandas frame")

    def outputs(self, rows: Rows) -> np.ndarray:
        return np.asarray(self._method(self.to_frame(rows)))


class ArrayPredictor(Predictor):
    def __init__(self, features: ArrayFeatures, predict: Callable, classifier: bool, engine: str):
        self.features = features
        self._predict = predict
        self.classifier = classifier
        self.info = Inference(ARRAYS, engine)

    def outputs(self, rows: Rows) -> np.ndarray:
        return self._predict(self.features.transform(rows))


def _fast(pipeline: Any) -> ArrayPredictor:
    """The fastest path for this pipeline, or ``Unsupported`` saying why there is none."""
    from mlops.inference.trees import TreeliteEnsemble

    if type(pipeline) is not Pipeline or len(pipeline.steps) != 2:
        raise Unsupported(f"the model is a {type(pipeline).__name__}, not a Pipeline of "
                          "preprocessing and an estimator")  # fmt: skip
    features = ArrayFeatures(pipeline.steps[0][1])
    estimator = pipeline.steps[-1][1]
    classifier = is_classifier(estimator)
    try:
        ensemble = TreeliteEnsemble(estimator)
    except Unsupported as why_not:
        if getattr(estimator, "feature_names_in_", None) is not None:
            raise Unsupported(f"{why_not}; its estimator was fitted on named columns") from None
        method = estimator.predict_proba if classifier else estimator.predict
        predictor = ArrayPredictor(features, method, classifier,
                                   f"arrays + {type(estimator).__name__}")  # fmt: skip
        return _with(predictor, reason=str(why_not))
    engine = f"arrays + treelite {ensemble.version} GTIL"
    predictor = ArrayPredictor(features, ensemble.predict, classifier, engine)
    predictor.info = Inference(COMPILED, engine)
    return predictor


def _with(predictor: Predictor, **changes: Any) -> Predictor:
    predictor.info = Inference(**{**predictor.info.as_dict(), **changes})
    return predictor


def parity(fast: Predictor, reference: Predictor, rows: Rows) -> float:
    """Max difference of the two on ``rows`` as a batch and one row at a time: absolute where the
    pipeline's output is at most 1 in size, relative to it above that."""
    want = np.asarray(reference.outputs(rows), dtype=np.float64)
    got = np.asarray(fast.outputs(rows), dtype=np.float64)
    if got.shape != want.shape:
        raise Unsupported(f"outputs of shape {got.shape}, the pipeline's {want.shape}")
    singles = [fast.outputs([row]) for row in rows[:SINGLE_ROW_CHECKS]]
    single = np.concatenate(singles) if singles else want[:0]
    scale = np.maximum(1.0, np.abs(want))
    diffs = [
        np.abs(got - want) / scale,
        np.abs(single - want[: len(single)]) / scale[: len(single)],
    ]
    worst = max(float(d.max()) if d.size else 0.0 for d in diffs)
    if not np.all(np.isfinite(got)) or math.isnan(worst):
        return math.inf
    return worst


def load(pipeline: Any, sample: Rows, to_frame: ToFrame) -> Predictor:
    """The path a fitted pipeline is served by: the fastest one that passes the parity gate."""
    reference = PipelinePredictor(pipeline, to_frame)
    if os.environ.get(SWITCH) == PIPELINE:
        return _with(reference, reason=f"{SWITCH}={PIPELINE}: faster paths are switched off")
    if not sample:
        return _with(reference, reason="no parity sample to check a faster path against")
    try:
        fast = _fast(pipeline)
        worst = parity(fast, reference, sample)
    except Unsupported as exc:
        return _with(reference, reason=f"not compiled: {exc}")
    except Exception as exc:  # a faster path that fails is a reason, never a failed load
        return _with(reference, reason=f"compiled path failed: {type(exc).__name__}: {exc}")
    if not worst <= PARITY_TOLERANCE:
        return _with(
            reference,
            reason=f"parity gate: the {fast.info.path} path ({fast.info.engine}) differs from the "
            f"pipeline by {worst:.3g} > {PARITY_TOLERANCE:g} on {len(sample)} rows",
            parity_max_abs_diff=worst,
            parity_rows=len(sample),
        )
    return _with(fast, parity_max_abs_diff=worst, parity_rows=len(sample))
