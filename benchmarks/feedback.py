"""Closing the loop at scale: 1,000,000 logged predictions and 1,000,000 outcomes.

Goals: `mlops performance` joins them in <= 30 s with <= 2 GiB peak memory;
`mlops data refresh` adds them to the training table in <= 30 s.

Setup (not timed): a template copy with the bundled sample (`mlops data sample`, 20,000 rows),
a million records in the server's log format (benchmarks/drift.py's writer: half of them
drifted traffic, rotated every 250,000), and an outcome file labelling every one of them.
Timed, each as a user runs it (a fresh `python -m mlops` process, `/usr/bin/time -v` for the
peak resident memory): `mlops outcomes ingest` (with `dvc add`), `mlops performance`, and
`mlops data refresh` with `refresh.max_rows` raised to take all million rows.

    .venv/bin/python benchmarks/feedback.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from drift import write_log

from mlops.core import tools
from mlops.demos.sandbox import copy_template
from mlops.formats import predlog

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "feedback.json"


def timed(args: list[str], cwd: Path) -> dict[str, float]:
    """Wall and CPU seconds and peak resident MiB of ``python -m mlops ARGS``."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "mlops", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)[1])
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", proc.stderr)[1])
              for kind in ("User", "System"))  # fmt: skip
    # CPU seconds: on a shared, busy machine the wall time mostly measures the queue
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "peak_mib": round(peak_kb / 1024, 1), "exit": proc.returncode}  # fmt: skip


def setup(work: Path, rows: int) -> tuple[Path, Path, Path]:
    repo = copy_template(ROOT, work / "repo")
    tools.git("init", "-q", cwd=repo)
    tools.run([sys.executable, "-m", "mlops", "data", "sample"], cwd=repo)
    params = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(
        re.sub(r"max_rows: \d+", f"max_rows: {rows}", params, count=1)
    )
    logs = write_log(work / "logs", rows)
    scores = np.array([r["probability"] for r in predlog.read(logs, "production")], dtype="float64")
    labels = (np.random.default_rng(1).random(rows) < scores).astype("int64")
    outcomes = work / "outcomes.parquet"
    pd.DataFrame({"request_id": [str(i) for i in range(rows)], "churn": labels}).to_parquet(
        outcomes
    )
    return repo, logs, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        repo, logs, outcomes = setup(Path(tmp), args.rows)
        print(f"setup: {time.perf_counter() - t0:.1f} s")
        load_before = os.getloadavg()
        runs = {
            "outcomes_ingest": timed(
                ["outcomes", "ingest", str(outcomes), "--env", "production"], repo
            ),
            "performance": timed(
                ["performance", "--env", "production", "--log-dir", str(logs), "--json"], repo
            ),
            "data_refresh": timed(
                ["data", "refresh", "--env", "production", "--log-dir", str(logs)], repo
            ),
        }
        report = json.loads((repo / "reports/performance/performance.json").read_text())
        rows_after = len(pd.read_csv(repo / "data" / "churn.csv"))
    result = {
        "rows": args.rows,
        "runs": runs,
        "performance_stages_s": report["seconds"],
        "performance_labelled": sum(g["labelled"] for g in report["groups"]),
        "table_rows_after_refresh": rows_after,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
