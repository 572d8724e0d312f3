"""Tree ensembles compiled with treelite and run by its GTIL predictor.

scikit-learn's ``HistGradientBoosting*`` predicts with a Python loop over its trees (about
1.2 ms for one row of the bundled 200-tree model); treelite's GTIL walks the same trees in C
(about 0.05 ms; FACTS.md). skl2onnx could not convert HistGradientBoosting with NumPy 2, so
treelite it is. The output keeps the estimator's shape: ``predict_proba``'s (n, classes) for a
classifier, ``predict``'s (n,) for a regressor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from mlops.inference.features import Unsupported

# sklearn's random forests compare float32 features with their thresholds; HGB uses float64
FLOAT32_INPUT = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier,
                 ExtraTreesRegressor)  # fmt: skip
COMPILED = (HistGradientBoostingClassifier, HistGradientBoostingRegressor, *FLOAT32_INPUT)


class TreeliteEnsemble:
    """A fitted tree ensemble as treelite's GTIL predictor; same outputs as the estimator."""

    def __init__(self, estimator: Any):
        if type(estimator) not in COMPILED:
            names = ", ".join(t.__name__ for t in COMPILED)
            raise Unsupported(f"{type(estimator).__name__} is not a tree ensemble treelite runs "
                              f"here ({names})")  # fmt: skip
        import treelite
        import treelite.sklearn

        self.version = treelite.__version__
        self._gtil = treelite.gtil
        try:
            self.model = treelite.sklearn.import_model(estimator)
        except Exception as exc:  # treelite refuses what it cannot represent: say what
            raise Unsupported(f"treelite cannot import {type(estimator).__name__}: {exc}") from exc
        self.classifier = is_classifier(estimator)
        self.float32 = isinstance(estimator, FLOAT32_INPUT)
        # Boosting: treelite's sum of trees, then sklearn's own link (its softmax is float64;
        # treelite's multiclass softmax differed by 6e-8, beyond the parity gate)
        self._link = None
        if not self.float32:
            loss = estimator._loss
            self._link = loss.predict_proba if self.classifier else loss.link.inverse
        self._run = self._gtil_runner(margin=self._link is not None)

    def _gtil_runner(self, margin: bool):
        """``gtil.predict`` with its configuration parsed once, not per call (a third of a
        single-row call's time); the public function when this treelite has no such hook."""
        gtil = self._gtil
        predict_type = "raw" if margin else "default"
        impl = getattr(gtil.gtil, "_predict_impl", None)
        config = getattr(gtil.gtil, "GTILConfig", None)
        if impl is None or config is None:
            return lambda x: gtil.predict(self.model, x, nthread=1, pred_margin=margin)
        parsed = config(nthread=1, predict_type=predict_type)
        return lambda x: impl(self.model, x, config=parsed)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.float32:
            x = x.astype(np.float32).astype(np.float64)
        out = self._run(x)
        out = out.reshape(len(x), -1)
        if self._link is not None:
            out = self._link(out)
            return out if self.classifier else out.ravel()
        if not self.classifier:
            return out[:, 0]
        if out.shape[1] == 1:  # binary boosting: treelite gives the positive class only
            return np.hstack([1.0 - out, out])
        return out
