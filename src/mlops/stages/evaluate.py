"""evaluate: holdout metrics (per task) beside their baselines, per-segment slices with their
uncertainty, the serving budget and plots.

The binary threshold follows ``evaluate.threshold`` (a number, or ``auto``: chosen on the
validation rows, never the holdout; ``mlops.model.thresholds``) and is recorded in metrics.json.
reports/baselines.json holds the trivial and linear baselines on the same holdout
(``mlops.stages.baselines``), and, when some holdout rows came from labelled live traffic
(``source`` in artifacts/split/row_ids.csv), the model and the trivial baseline on those rows.
Each slice records its rows, its metrics, their bootstrap standard errors (``se``) and, when it
is too small to judge, why (``too_small``; ``mlops.evaluation.uncertainty``).

Plots per task, in DVC's format under reports/plots/ and as PNGs under reports/figures/:
binary: ROC, precision-recall, confusion, reliability; multiclass: confusion, reliability;
regression: predicted versus actual, residuals.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from threadpoolctl import threadpool_limits

from mlops import inference
from mlops.core import paths
from mlops.core.io_utils import write_json
from mlops.evaluation import scoring, uncertainty
from mlops.evaluation.figures import draw_all
from mlops.formats import params
from mlops.formats.contract import Contract, load_contract
from mlops.model import thresholds
from mlops.stages import baselines

# Row-level records DVC's templates need; beyond this many holdout rows an evenly spaced
# sample keeps the Git-tracked files small. Metrics and the PNGs always use every row.
MAX_RECORDS = 5000
PLOT_FILES = {
    "binary": ("roc", "precision_recall", "confusion", "reliability"),
    "multiclass": ("confusion", "reliability"),
    "regression": ("predicted_vs_actual", "residuals"),
}


def slices(df: pd.DataFrame, p: scoring.Predictions, contract: Contract) -> dict[str, Any]:
    """Metrics per segment value, with the row count (and positive rate, binary) of each, the
    metrics' standard errors (``se``) and, for a slice too small to judge, ``too_small``.
    Without a segment in the contract: ``{"segment": null, "slices": {}}``."""
    if not contract.segment:
        return {"segment": None, "slices": {}}
    out: dict[str, Any] = {}
    y = df[contract.target].to_numpy()
    for value, idx in df.groupby(contract.segment).indices.items():
        row: dict[str, Any] = {"rows": len(idx)}
        if contract.task == "binary":
            row["positive_rate"] = round(float((y[idx] == contract.positive).mean()), 6)
        part = scoring.subset(p, idx)
        row |= scoring.score(y[idx], part, contract)
        row["se"] = uncertainty.standard_errors(y[idx], part, contract)
        small = uncertainty.too_small(y[idx], contract)
        out[str(value)] = row | ({"too_small": small} if small else {})
    return {"segment": contract.segment, "slices": out}


def _percentiles_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p95": round(float(np.percentile(ms, 95)), 3),
    }


def serving_budget(
    model, features: pd.DataFrame, model_path: str, repeats: int, contract: Contract
) -> dict[str, Any]:
    """Model size and in-process latency for 1 and 100 rows (CPU time per row too), on the path
    the server serves: records in, the inference path ``mlops.inference`` picks at load out.

    Measured on one thread, as a server worker predicts: OpenMP threads spin while they wait,
    which on a busy machine turns a millisecond predict into a second of CPU.
    """
    from mlops.serve.loading import sample_records
    from mlops.serve.validation import for_contract

    validator = for_contract(contract)
    sample = validator.records({"records": sample_records(contract)})
    predictor = inference.load(model, sample, validator.frame)
    with threadpool_limits(1):
        budget = _budget(predictor, _records(features.iloc[:100]), model_path, repeats)
    return {**budget, "inference": predictor.info.path}


def _records(features: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a request carries them: JSON values, None for a missing one."""
    rows = features.astype(object).to_dict(orient="records")
    return [{k: (None if v is None or v != v else v) for k, v in row.items()} for row in rows]


def _budget(predictor, records: list[dict], model_path: str, repeats: int) -> dict[str, Any]:
    budget: dict[str, Any] = {"model_mb": round(os.path.getsize(model_path) / 2**20, 4)}
    for rows in (1, 100):
        batch = records[:rows]
        predictor.outputs(batch)  # warm-up
        wall, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            predictor.outputs(batch)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        budget[f"latency_ms_{rows}_row{'s' if rows > 1 else ''}"] = _percentiles_ms(wall)
        budget[f"cpu_ms_per_row_{rows}"] = round(float(np.mean(cpu)) * 1000 / rows, 4)
    return budget


def _spaced(n: int, most: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, most)).astype(int))


def _label(value) -> Any:
    return value.item() if hasattr(value, "item") else value


def _confusion_records(y, predicted) -> list[dict]:
    return [
        {"actual": _label(y[i]), "predicted": _label(predicted[i])}
        for i in _spaced(len(y), MAX_RECORDS)
    ]


def _binary_curves(y, p: scoring.Predictions, contract: Contract) -> dict[str, list[dict]]:
    truth = (np.asarray(y) == contract.positive).astype(int)
    score = p.proba[:, p.classes.index(contract.positive)]
    fpr, tpr, _ = skm.roc_curve(truth, score)
    precision, recall, _ = skm.precision_recall_curve(truth, score)
    return {
        "roc": [
            {"fpr": round(float(fpr[i]), 5), "tpr": round(float(tpr[i]), 5)}
            for i in _spaced(len(fpr), 400)
        ],
        "precision_recall": [
            {"recall": round(float(recall[i]), 5), "precision": round(float(precision[i]), 5)}
            for i in _spaced(len(recall), 400)
        ],
        "confusion": _confusion_records(y, p.predicted),
    }


def _regression_curves(y, p: scoring.Predictions) -> dict[str, list[dict]]:
    keep = _spaced(len(y), MAX_RECORDS)
    actual = np.asarray(y, dtype="float64")
    return {
        "predicted_vs_actual": [
            {"actual": round(float(actual[i]), 6), "predicted": round(float(p.predicted[i]), 6)}
            for i in keep
        ],
        "residuals": [
            {
                "predicted": round(float(p.predicted[i]), 6),
                "residual": round(float(actual[i] - p.predicted[i]), 6),
            }
            for i in keep
        ],
    }


def curves(y, p: scoring.Predictions, contract: Contract) -> dict[str, list[dict]]:
    """The task's plot data in DVC's format (lists of records)."""
    if contract.task == "binary":
        return _binary_curves(y, p, contract) | {"reliability": scoring.reliability(y, p, contract)}
    if contract.task == "multiclass":
        return {
            "confusion": _confusion_records(y, p.predicted),
            "reliability": scoring.reliability(y, p, contract),
        }
    return _regression_curves(y, p)


def confusion(y, p: scoring.Predictions) -> dict[str, Any]:
    """The full confusion matrix (every row) for classification: labels and counts."""
    if p.proba is None:
        return {}
    labels = list(p.classes)
    counts = skm.confusion_matrix(np.asarray(y), np.asarray(p.predicted), labels=labels).tolist()
    return {"labels": [str(c) for c in labels], "counts": counts}


def evaluate(model, holdout: pd.DataFrame, threshold: float, contract: Contract) -> dict[str, Any]:
    """The pure core: predictions, metrics, slices and curves for one model on one holdout;
    a binary task's metrics record the ``threshold`` they were measured at."""
    p = scoring.predict(model, holdout[list(contract.features)], contract, threshold)
    y = holdout[contract.target].to_numpy()
    recorded = {"threshold": round(float(threshold), 6)} if contract.task == "binary" else {}
    return {
        "predictions": p,
        "metrics": scoring.score(y, p, contract) | recorded,
        "slices": slices(holdout, p, contract),
        "curves": curves(y, p, contract),
        "confusion": confusion(y, p),
        "actual": np.asarray(y),
    }


def predictions_frame(p: scoring.Predictions, contract: Contract) -> pd.DataFrame:
    """artifacts/predictions.csv: ``prediction`` for every task; ``proba`` is the positive
    class's probability (binary) or the predicted class's (multiclass)."""
    frame = pd.DataFrame({"prediction": p.predicted})
    if contract.task == "binary":
        frame["proba"] = p.proba[:, p.classes.index(contract.positive)]
    elif contract.task == "multiclass":
        frame["proba"] = p.proba.max(axis=1)
    return frame


def holdout_from_traffic(rows: int) -> np.ndarray:
    """Per holdout row (table order): did it come from labelled live traffic (row_ids.csv)?"""
    from mlops.core.errors import MlopsError
    from mlops.stages.split import TRAFFIC

    ids = pd.read_csv(paths.ROW_IDS, dtype=str, keep_default_na=False)
    held = ids[ids["side"] == "holdout"]
    if len(held) != rows:
        raise MlopsError(
            f"{paths.ROW_IDS} lists {len(held)} holdout rows but {paths.HOLDOUT} has {rows}: "
            "run `dvc repro`"
        )
    if "source" not in held:
        return np.zeros(rows, dtype=bool)
    return (held["source"] == TRAFFIC).to_numpy()


def _clear(folder: str, keep: tuple[str, ...], suffix: str) -> None:
    """Remove another task's plot files, so a task switch leaves no stale plots."""
    for path in Path(folder).glob(f"*{suffix}"):
        if path.stem not in keep:
            path.unlink()


def main() -> int:
    from mlops.model import model_io

    contract = load_contract()
    settings = params.section("evaluate")
    model = model_io.load(paths.MODEL)
    holdout = contract.read_table(paths.HOLDOUT)
    validation = contract.read_table(paths.VALIDATION_SPLIT)
    # the threshold train chose and stored in the artifact (what the server answers with)
    threshold = model_io.threshold_of(model)
    if threshold is None:
        threshold = thresholds.choose(settings["threshold"], model, validation, contract)
    result = evaluate(model, holdout, threshold, contract)
    write_json(paths.METRICS, result["metrics"])
    write_json(paths.SLICES, result["slices"])
    train = contract.read_table(paths.TRAIN)
    measured = baselines.evaluate(
        train, validation, holdout, params.section("train"), settings["threshold"], contract
    )
    traffic = baselines.on_traffic(
        result["predictions"], holdout, holdout_from_traffic(len(holdout)), train, contract
    )
    write_json(paths.BASELINES, measured | ({"traffic": traffic} if traffic else {}))
    features = holdout[list(contract.features)]
    write_json(
        paths.SERVING,
        serving_budget(model, features, paths.MODEL, settings["latency_repeats"], contract),
    )
    _clear(paths.PLOTS, PLOT_FILES[contract.task], ".json")
    for name, records in result["curves"].items():
        write_json(Path(paths.PLOTS) / f"{name}.json", records)
    Path(paths.PREDICTIONS).parent.mkdir(parents=True, exist_ok=True)
    predictions_frame(result["predictions"], contract).to_csv(
        paths.PREDICTIONS, index=False, float_format="%.17g"
    )
    _clear(paths.FIGURES, PLOT_FILES[contract.task], ".png")
    draw_all(contract.task, result, paths.FIGURES)
    headline = scoring.HEADLINE[contract.task]
    m = result["metrics"]
    print(f"evaluate: {headline}={m[headline]} on {len(holdout)} holdout rows ({contract.task})")
    return 0


if __name__ == "__main__":
    from mlops.core.cli_support import run_stage

    run_stage(main)
