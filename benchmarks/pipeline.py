"""Pipeline benchmarks: full `dvc repro` time per stage at 20,000 and 1,000,000 rows, and our
no-op `dvc repro` against DVC's own no-op on a one-stage pipeline.

Run: .venv/bin/python benchmarks/pipeline.py [--rows 20000 1000000] [--repeats 5]
Prints a markdown table and writes benchmarks/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

import yaml
from timing import dvc, mlops, sh

from mlops.demos.sandbox import copy_template

ROOT = Path(__file__).resolve().parents[1]
STAGES = list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])


def template(dest: Path, rows: int) -> Path:
    copy_template(ROOT, dest)
    sh(["git", "init", "-q"], dest)
    mlops(dest, "data", "generate", "--rows", str(rows))
    dvc(dest, "add", "data")
    return dest


def pipeline(rows: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        repo = template(Path(tmp), rows)
        stages = {stage: round(dvc(repo, "repro", "--single-item", stage), 2) for stage in STAGES}
        metrics = json.loads((repo / "reports/metrics.json").read_text())
        return {
            "rows": rows,
            "seconds": round(sum(stages.values()), 2),
            "stages": stages,
            "roc_auc": metrics["roc_auc"],
        }


def noop(repo: Path, repeats: int) -> float:
    dvc(repo, "repro")
    return round(statistics.median(dvc(repo, "repro") for _ in range(repeats)), 3)


def one_stage(dest: Path) -> Path:
    sh(["git", "init", "-q"], dest)
    dvc(dest, "init", "-q")
    (dest / "in.txt").write_text("x\n")
    dvc(dest, "stage", "add", "-n", "copy", "-d", "in.txt", "-o", "out.txt", "cp in.txt out.txt")
    return dest


def noops(repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        ours = noop(template(Path(a), 20_000), repeats)
        theirs = noop(one_stage(Path(b)), repeats)
    return {"ours_4_stages_s": ours, "dvc_one_stage_s": theirs, "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_before": os.getloadavg()[0],
        "pipeline": [pipeline(rows) for rows in args.rows],
        "noop": noops(args.repeats),
    }
    out = ROOT / "benchmarks" / "results" / "pipeline.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("| rows | total s | " + " | ".join(STAGES) + " | roc_auc |")
    print("|---:|---:|" + "---:|" * len(STAGES) + "---:|")
    for r in results["pipeline"]:
        cells = " | ".join(str(r["stages"][s]) for s in STAGES)
        print(f"| {r['rows']:,} | {r['seconds']} | {cells} | {r['roc_auc']} |")
    n = results["noop"]
    print(
        f"\nno-op dvc repro (median of {n['repeats']}): ours {n['ours_4_stages_s']} s, "
        f"DVC one-stage {n['dvc_one_stage_s']} s"
    )


if __name__ == "__main__":
    main()
