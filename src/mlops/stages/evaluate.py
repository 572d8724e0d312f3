"""evaluate: holdout metrics, per-segment slices, the serving budget and plots."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from threadpoolctl import threadpool_limits

from mlops import inference, model_io, params, paths
from mlops.data.schema import FEATURES, SEGMENT, TARGET, read_table
from mlops.figures import draw_all
from mlops.io_utils import write_json

# Row-level records DVC's confusion template needs; beyond this many holdout rows an evenly
# spaced sample keeps the Git-tracked file small. Metrics and the PNG always use every row.
MAX_CONFUSION_RECORDS = 5000

METRIC_NAMES = ("roc_auc", "average_precision", "f1", "precision", "recall", "accuracy", "log_loss")


def score(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    """All holdout metrics, rounded to 6 places so reports diff cleanly."""
    pred = (proba >= threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    values = {
        "roc_auc": skm.roc_auc_score(y_true, proba) if both else float("nan"),
        "average_precision": skm.average_precision_score(y_true, proba) if both else float("nan"),
        "f1": skm.f1_score(y_true, pred, zero_division=0),
        "precision": skm.precision_score(y_true, pred, zero_division=0),
        "recall": skm.recall_score(y_true, pred, zero_division=0),
        "accuracy": skm.accuracy_score(y_true, pred),
        "log_loss": skm.log_loss(y_true, proba, labels=[0, 1]),
    }
    return {k: round(float(v), 6) for k, v in values.items()}


def slices(df: pd.DataFrame, proba: np.ndarray, threshold: float) -> dict[str, Any]:
    """Metrics per segment value, with the row count and churn rate of each."""
    out: dict[str, Any] = {}
    for value, idx in df.groupby(SEGMENT).indices.items():
        y = df[TARGET].to_numpy()[idx]
        out[str(value)] = {
            "rows": len(idx),
            "positive_rate": round(float(y.mean()), 6),
            **score(y, proba[idx], threshold),
        }
    return {"segment": SEGMENT, "slices": out}


def _percentiles_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p95": round(float(np.percentile(ms, 95)), 3),
    }


def serving_budget(model, features: pd.DataFrame, model_path: str, repeats: int) -> dict[str, Any]:
    """Model size and in-process latency for 1 and 100 rows (CPU time per row too), on the path
    the server serves: records in, the inference path ``mlops.inference`` picks at load out.

    Measured on one thread, as a server worker predicts: OpenMP threads spin while they wait,
    which on a busy machine turns a millisecond predict into a second of CPU.
    """
    from mlops.serve.controller import sample_records
    from mlops.serve.validation import frame

    predictor = inference.load(model, sample_records(), frame)
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


def curves(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, list[dict]]:
    """ROC, precision-recall and confusion data in DVC's plot format (lists of records)."""
    fpr, tpr, _ = skm.roc_curve(y_true, proba)
    precision, recall, _ = skm.precision_recall_curve(y_true, proba)
    keep_roc = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 400)).astype(int))
    keep_pr = np.unique(np.linspace(0, len(recall) - 1, min(len(recall), 400)).astype(int))
    pred = (proba >= threshold).astype(int)
    rows = np.unique(
        np.linspace(0, len(pred) - 1, min(len(pred), MAX_CONFUSION_RECORDS)).astype(int)
    )
    return {
        "roc": [{"fpr": round(float(fpr[i]), 5), "tpr": round(float(tpr[i]), 5)} for i in keep_roc],
        "precision_recall": [
            {"recall": round(float(recall[i]), 5), "precision": round(float(precision[i]), 5)}
            for i in keep_pr
        ],
        "confusion": [{"actual": int(y_true[i]), "predicted": int(pred[i])} for i in rows],
    }


def evaluate(model, holdout: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """The pure core: predictions, metrics, slices and curves for one model on one holdout."""
    proba = model.predict_proba(holdout[list(FEATURES)])[:, 1]
    y = holdout[TARGET].to_numpy()
    return {
        "proba": proba,
        "metrics": score(y, proba, threshold),
        "slices": slices(holdout, proba, threshold),
        "curves": curves(y, proba, threshold),
        "confusion": skm.confusion_matrix(
            y, (proba >= threshold).astype(int), labels=[0, 1]
        ).tolist(),
    }


def main() -> int:
    settings = params.section("evaluate")
    model = model_io.load(paths.MODEL)
    holdout = read_table(paths.HOLDOUT)
    result = evaluate(model, holdout, settings["threshold"])
    write_json(paths.METRICS, result["metrics"])
    write_json(paths.SLICES, result["slices"])
    budget = serving_budget(
        model, holdout[list(FEATURES)], paths.MODEL, settings["latency_repeats"]
    )
    write_json(paths.SERVING, budget)
    for name, records in result["curves"].items():
        write_json(Path(paths.PLOTS) / f"{name}.json", records)
    Path(paths.PREDICTIONS).parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"proba": result["proba"]}).to_csv(
        paths.PREDICTIONS, index=False, float_format="%.17g"
    )

    draw_all(result["curves"], result["confusion"], paths.FIGURES)
    m = result["metrics"]
    print(f"evaluate: roc_auc={m['roc_auc']} f1={m['f1']} on {len(holdout)} holdout rows")
    return 0


if __name__ == "__main__":
    from mlops.cli_support import run_stage

    run_stage(main)
