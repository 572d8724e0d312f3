"""The binary decision threshold, chosen on rows the holdout never sees.

``evaluate.threshold`` in params.yaml is a number (used as is) or ``auto``: the threshold that
maximises F1 on the validation rows (``artifacts/split/validation.csv``, kept out of training by
the split). The train stage chooses it and stores it in the model artifact, which the server
answers with; the evaluate stage records it in reports/metrics.json (``threshold``).
"""

from __future__ import annotations

import numpy as np

from mlops.formats.params import AUTO

DEFAULT = 0.5


def best_f1(truth: np.ndarray, score: np.ndarray) -> float:
    """The score threshold with the highest F1 (ties: the highest threshold); 0.5 when the rows
    hold a single class, where F1 cannot choose."""
    from sklearn.metrics import precision_recall_curve

    truth = np.asarray(truth).astype(int)
    if len(np.unique(truth)) < 2:
        return DEFAULT
    precision, recall, cuts = precision_recall_curve(truth, score)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
    f1 = f1[:-1]  # the last point has no threshold
    best = np.flatnonzero(f1 == f1.max())[-1]
    return round(float(cuts[best]), 6)


def choose(rule, model, validation, contract) -> float:
    """The threshold ``rule`` (a number, or ``auto``) gives ``model`` on the validation rows."""
    if rule != AUTO:
        return float(rule)
    if contract.task != "binary" or validation is None or validation.empty:
        return DEFAULT
    proba = model.predict_proba(validation[list(contract.features)])
    score = proba[:, list(model.classes_).index(contract.positive)]
    return best_f1(validation[contract.target].to_numpy() == contract.positive, score)


def of_metadata(metadata: dict) -> float:
    """The threshold a version was evaluated with and is served with: the one its metrics
    record (``auto`` chose it), else the number in its params, else 0.5."""
    recorded = (metadata.get("metrics") or {}).get("threshold")
    if isinstance(recorded, (int, float)):
        return float(recorded)
    try:
        return float(metadata["params"]["evaluate"]["threshold"])
    except (KeyError, TypeError, ValueError):
        return DEFAULT


def of_model(model, metadata: dict) -> float:
    """The threshold a loaded version answers with: the one its artifact carries (what the
    server uses), else the one its metadata records (artifacts made before they carried it)."""
    from mlops.model.model_io import threshold_of

    carried = threshold_of(model)
    return of_metadata(metadata) if carried is None else carried
