"""Adoption at scale: `mlops data adopt` then `dvc repro` on a 1,000,000-row table of each task,
with wall time and peak memory (the goals on a 2-core machine: adopt <= 15 s,
adopt + repro <= 90 s, peak <= 4 GiB).

Run: .venv/bin/python benchmarks/adopt.py [--rows 1000000] [--tasks binary multiclass regression]
Prints a markdown table and writes benchmarks/results/adopt.json. ``--per-stage`` times each
stage of dvc.yaml on its own (``dvc repro --single-item``); ``--keep DIR`` keeps the adopted
repository, to profile a stage in it.

Each task's table is made here (seeded): six numeric columns (one with 2 % nulls), an integer
count, two category columns (one of them the binary table's segment) and the target: yes/no
(binary), four string classes (multiclass) or a float (regression). It goes to a fresh copy of
the template (`git init`, the default local DVC remote), where `mlops data adopt` and `dvc repro`
run as a user runs them. Per command: wall seconds, CPU seconds (user + system of every process
it started) and peak memory, the largest resident set of any one of them (``/usr/bin/time``:
DVC and every stage it starts); the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.core import tools
from mlops.demos.sandbox import copy_template

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"binary": "churned", "multiclass": "tier", "regression": "spend"}
OPTIONS = {"binary": ["--segment", "region", "--positive-label", "yes"]}


def table(task: str, rows: int, seed: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    count = rng.poisson(3, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2])
    region = rng.choice(["north", "south", "east", "west", "central"], rows)
    signal = x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2] + 0.2 * count + (plan == "pro")
    signal += rng.normal(0, 0.8, rows)
    frame = pd.DataFrame({f"x{i}": x[:, i].round(4) for i in range(6)})
    frame.loc[rng.random(rows) < 0.02, "x5"] = np.nan
    frame["visits"] = count
    frame["plan"] = plan
    frame["region"] = region
    if task == "binary":
        frame[TARGETS[task]] = np.where(signal > 1.0, "yes", "no")
    elif task == "multiclass":
        cuts = np.quantile(signal, [0.25, 0.5, 0.75])
        frame[TARGETS[task]] = np.array(["bronze", "silver", "gold", "platinum"])[
            np.searchsorted(cuts, signal)
        ]
    else:
        frame[TARGETS[task]] = (100 + 20 * signal).round(2)
    return frame


def timed(args: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run ``args``; return (wall seconds, CPU seconds of every process it started, peak
    resident MiB of any one of them). CPU time is what a busy machine cannot inflate."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        start = time.perf_counter()
        tools.run(["/usr/bin/time", "-q", "-f", "%M %U %S", "-o", out.name, *args], cwd=cwd)
        wall = time.perf_counter() - start
        rss_kib, user, system = out.read().split()[-3:]
        return wall, float(user) + float(system), int(rss_kib) / 1024


def stage_names(repo: Path) -> list[str]:
    """The pipeline's stages in dvc.yaml order (the order `dvc repro` runs them)."""
    import yaml

    return list(yaml.safe_load((repo / "dvc.yaml").read_text())["stages"])


def repro_by_stage(repo: Path) -> tuple[float, float, float, dict]:
    """`dvc repro --single-item STAGE` for each stage in turn: the same work as `dvc repro`,
    timed per stage (each includes DVC's own start-up and hashing)."""
    stages, wall, cpu, peak = {}, 0.0, 0.0, 0.0
    for name in stage_names(repo):
        s, c, mib = timed([sys.executable, "-m", "dvc", "repro", "--single-item", name], repo)
        stages[name] = {"wall_s": round(s, 1), "cpu_s": round(c, 1), "peak_mib": round(mib)}
        stages[name]["load"] = round(os.getloadavg()[0], 1)
        wall, cpu, peak = wall + s, cpu + c, max(peak, mib)
    return wall, cpu, peak, stages


def measure(task: str, rows: int, work: Path, repro: bool = True, per_stage: bool = False) -> dict:
    source = work / f"{task}.csv"
    table(task, rows).to_csv(source, index=False)
    repo = copy_template(ROOT, work / "repo")
    tools.run(["git", "init", "-q"], cwd=repo)
    load = os.getloadavg()[0]
    py = sys.executable
    adopt = [py, "-m", "mlops", "data", "adopt", str(source), "--target", TARGETS[task]]
    adopt_s, adopt_cpu, adopt_mib = timed([*adopt, "--task", task, *OPTIONS.get(task, [])], repo)
    repro_s = repro_cpu = repro_mib = 0.0
    metrics, stages = {}, {}
    if repro and per_stage:
        repro_s, repro_cpu, repro_mib, stages = repro_by_stage(repo)
    elif repro:
        repro_s, repro_cpu, repro_mib = timed([py, "-m", "dvc", "repro"], repo)
    if repro:
        metrics = json.loads((repo / "reports" / "metrics.json").read_text())
    return {
        "task": task,
        "rows": rows,
        "csv_mb": round(source.stat().st_size / 2**20, 1),
        "adopt_s": round(adopt_s, 1),
        "repro_s": round(repro_s, 1),
        "total_s": round(adopt_s + repro_s, 1),
        "adopt_cpu_s": round(adopt_cpu, 1),
        "repro_cpu_s": round(repro_cpu, 1),
        "peak_mib": round(max(adopt_mib, repro_mib)),
        "adopt_peak_mib": round(adopt_mib),
        "repro_peak_mib": round(repro_mib),
        "load_before": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1),
        "metrics": metrics,
    } | ({"stages": stages} if stages else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tasks", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--adopt-only", action="store_true", help="time adopt, skip dvc repro")
    parser.add_argument(
        "--per-stage", action="store_true", help="time each stage (dvc repro --single-item)"
    )
    parser.add_argument(
        "--keep", type=Path, help="build in this new folder and keep it (to profile a stage)"
    )
    parser.add_argument("--out", type=Path, help="results file (default results/adopt.json)")
    args = parser.parse_args()
    results = []
    for task in args.tasks:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) if args.keep is None else args.keep / task
            work.mkdir(parents=True, exist_ok=True)
            results.append(
                measure(task, args.rows, work, not args.adopt_only, per_stage=args.per_stage)
            )
        print(json.dumps(results[-1]), flush=True)
    default = ROOT / "benchmarks" / "results" / f"adopt{'-only' if args.adopt_only else ''}.json"
    out = args.out or default
    out.parent.mkdir(exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    out.write_text(json.dumps({"machine": machine, "runs": results}, indent=2) + "\n")
    print("| task | rows | adopt s (CPU) | dvc repro s (CPU) | total s | peak MiB | load avg |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(
            f"| {r['task']} | {r['rows']:,} | {r['adopt_s']} ({r['adopt_cpu_s']}) | "
            f"{r['repro_s']} ({r['repro_cpu_s']}) | {r['total_s']} | {r['peak_mib']:,} | "
            f"{r['load_before']} → {r['load_after']} |"
        )


if __name__ == "__main__":
    main()
