"""`mlops report` wall time on the 20,000-row sample, beyond the pipeline.

Two cases, each in a fresh temp copy of the template (tracked files, reports as committed):
- params: the data is unchanged, so no drift is computed (the common PR);
- data: the data changed (the sample regenerated with drift 0.3), so the base data is read from
  the DVC remote at the base revision and Evidently measures drift on 20,000 x 20,000 rows.

Run: .venv/bin/python benchmarks/report.py [--repeats 3]
Prints a markdown table and writes benchmarks/results/report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

from timing import dvc, mlops, sh

from mlops.demos.sandbox import copy_template

ROOT = Path(__file__).resolve().parents[1]


def template(dest: Path) -> Path:
    """The template with the 20,000-row sample restored and pushed to a local remote."""
    copy_template(ROOT, dest)
    sh(["git", "init", "-q"], dest)
    dvc(dest, "remote", "modify", "--local", "storage", "url", str(dest.parent / "remote"))
    mlops(dest, "data", "restore")  # regenerates the sample, verifies its md5, pushes it
    sh(["git", "add", "-A"], dest)
    sh(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "base"], dest)
    return dest


def timed(repo: Path, repeats: int) -> dict:
    runs = [mlops(repo, "report", "--base", "HEAD") for _ in range(repeats)]
    return {"median_s": round(statistics.median(runs), 2), "min_s": round(min(runs), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        repo = template(Path(tmp) / "repo")
        results["params"] = timed(repo, args.repeats)
        mlops(repo, "data", "generate", "--rows", "20000", "--seed", "7", "--drift", "0.3")
        dvc(repo, "add", "data")
        results["data"] = timed(repo, args.repeats)
    print("| case | median | min |\n|---|---:|---:|")
    for case in ("params", "data"):
        print(f"| {case} | {results[case]['median_s']} s | {results[case]['min_s']} s |")
    print(f"(load average {results['load_avg_1m']} at start, {results['machine']})")
    out = ROOT / "benchmarks" / "results" / "report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
