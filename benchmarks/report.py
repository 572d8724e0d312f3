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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlops.sandbox import copy_template

ROOT = Path(__file__).resolve().parents[1]


def sh(args: list[str], cwd: Path) -> float:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def mlops(cwd: Path, *args: str) -> float:
    return sh([sys.executable, "-m", "mlops", *args], cwd)


def template(dest: Path) -> Path:
    """The template with the 20,000-row sample restored and pushed to a local remote."""
    copy_template(ROOT, dest)
    sh(["git", "init", "-q"], dest)
    sh(
        [
            sys.executable,
            "-m",
            "dvc",
            "remote",
            "modify",
            "--local",
            "storage",
            "url",
            str(dest.parent / "remote"),
        ],
        dest,
    )
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
        sh([sys.executable, "-m", "dvc", "add", "data"], repo)
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
