"""How long `mlops drift` takes on 1,000,000 logged rows (goal: under 60 s on 2 cores).

Writes a million records in the server's log format (half drifted traffic, not timed), then
times what `mlops drift` does after resolving the version: read + filter + sample the log,
read the reference (the workspace's training split and holdout predictions — the same bytes
`dvc.api.read` returns at a version's commit), both Evidently reports, and the report files.

Run from the repository root after `make setup data && dvc repro`:
    .venv/bin/python benchmarks/drift.py [--rows 1000000] [--max-rows 100000]
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from mlops.core import paths
from mlops.data import sample
from mlops.data.generate import generate
from mlops.formats import predlog
from mlops.monitoring import drift, drift_current

# The log is made by the bundled sample's generator, so the sample's contract describes it
# (whatever table the workspace adopted; the reference below is the workspace's split, so run
# this on the sample).
schema = sample.contract()

VERSION = "v1.0.0"


def write_log(folder: Path, rows: int) -> Path:
    """``rows`` records, rotated every 250,000 like a busy server's log."""
    frame = pd.concat(
        [generate(rows // 2, 1, 0.0), generate(rows - rows // 2, 2, 1.0)], ignore_index=True
    )[list(schema.features)]
    proba = np.random.default_rng(0).random(rows)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    env_dir = predlog.env_dir(folder, "production")
    env_dir.mkdir(parents=True, exist_ok=True)
    chunk = 250_000
    for part, start in enumerate(range(0, rows, chunk)):
        name = (
            predlog.ACTIVE if start + chunk >= rows else f"predictions-2026010{part}T000000Z.jsonl"
        )
        with (env_dir / name).open("wb") as fh:
            for i in range(start, min(start + chunk, rows)):
                rec = predlog.record(
                    request_id=str(i), env="production", model_version=VERSION, route="stable",
                    features=records[i], prediction=int(proba[i] >= 0.5),
                    probability=float(proba[i]), latency_ms=2.0,
                )  # fmt: skip
                fh.write(orjson.dumps(rec) + b"\n")
    return folder


def reference(max_rows: int) -> drift.Reference:
    train = Path(paths.TRAIN).read_text()
    preds = Path(paths.PREDICTIONS).read_text()
    frame = pd.read_csv(io.StringIO(train))
    rows = len(frame)
    if rows > max_rows:
        frame = frame.sample(n=max_rows, random_state=0)
    frame = frame[list(schema.features)].copy()
    for col in schema.columns:
        frame[col.name] = frame[col.name].astype("float64" if col.numeric else "str")
    scores = pd.read_csv(io.StringIO(preds))["proba"].to_numpy()
    return drift.Reference(frame, scores, "workspace", rows, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--max-rows", type=int, default=drift.DEFAULT_MAX_ROWS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        logs = write_log(Path(tmp) / "logs", args.rows)
        size = sum(p.stat().st_size for p in predlog.files(logs, "production"))
        print(
            f"wrote {args.rows:,} records ({size / 2**20:.0f} MiB) in "
            f"{time.perf_counter() - t0:.1f} s (not timed)"
        )
        timings = {}
        start = t0 = time.perf_counter()
        current = drift_current.load_current(logs, "production", VERSION, max_rows=args.max_rows)
        timings["read, filter, sample the log"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = reference(args.max_rows)
        timings["read the reference"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        columns, prediction, f_snap, s_snap = drift.analyze(current, ref, 0.3)
        timings["evidently (features + score)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = drift.DriftResult(
            "production", "churn-model", VERSION, columns, prediction, 0.3,
            {"rows_used": len(current.features), "rows_matched": current.matched,
             "sample_rate": current.sample_rate, "first_ts": current.first_ts,
             "last_ts": current.last_ts},
            {"commit": "workspace", "rows": ref.rows, "rows_used": len(ref.features),
             "score_rows": len(ref.scores), "features": paths.TRAIN, "scores": paths.PREDICTIONS},
        )  # fmt: skip
        drift.write_reports(result, f_snap, s_snap, Path(tmp) / "report")
        timings["write html, json, md"] = time.perf_counter() - t0
        total = time.perf_counter() - start
    for name, seconds in timings.items():
        print(f"  {name:32s} {seconds:6.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(
        f"total {total:.1f} s for {args.rows:,} logged rows "
        f"(sample rate {current.sample_rate:.3g}, {len(current.features):,} rows compared); "
        f"drift={result.drift}, drifted columns {len(result.drifted_columns)}/{len(columns)}; "
        f"peak RSS {peak:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
