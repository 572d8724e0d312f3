"""Benchmark: `mlops site` over 1,000 versions and 1,000 promotions (goal: under 5 s).

Builds the history of benchmarks/audit.py (N promotion commits, each merged by a
"Merge pull request #N" commit), adds V annotated version tags whose messages are the metadata
`mlops register` writes (metrics and a full model card each), all with `git fast-import`, then
times the page build in-process and as the `mlops site` command.

    .venv/bin/python benchmarks/site_build.py [--versions 1000] [--promotions 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from audit import _children_cpu, build

from mlops.model import card
from mlops.site.build import build as build_site

ROOT = Path(__file__).resolve().parents[1]
MODEL = "churn-model"


def metadata(n: int, rng: random.Random) -> dict:
    metrics = {
        "roc_auc": round(0.80 + 0.02 * rng.random() + n * 1e-5, 6),
        "f1": round(0.57 + 0.03 * rng.random(), 6),
        "accuracy": round(0.76 + 0.02 * rng.random(), 6),
        "average_precision": round(0.64 + 0.03 * rng.random(), 6),
        "log_loss": round(0.46 + 0.02 * rng.random(), 6),
        "precision": round(0.64 + 0.03 * rng.random(), 6),
        "recall": round(0.52 + 0.03 * rng.random(), 6),
    }
    meta = {"sha256": f"sha256:{n:064x}", "metrics": metrics, "data_md5": "0" * 32 + ".dir"}
    meta["model_card"] = card.render(ROOT, version=f"v1.{n}.0", metadata=meta, model=MODEL)
    return meta


def add_tags(repo: Path, versions: int) -> None:
    """V annotated tags ``churn-model@v1.N.0`` spread over the history, oldest on oldest."""
    commits = subprocess.run(
        ["git", "rev-list", "--reverse", "main"], cwd=repo, capture_output=True, text=True
    ).stdout.split()
    rng, stream, t = random.Random(7), [], 1_700_000_000
    for n in range(versions):
        message = json.dumps(metadata(n, rng)).encode()
        commit = commits[n * len(commits) // versions]
        stream.append(
            f"tag {MODEL}@v1.{n}.0\nfrom {commit}\ntagger Bot <bot@example.com> {t + n} +0000\n"
            f"data {len(message)}\n".encode()
            + message
            + b"\n"
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--promotions", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        build(repo, args.promotions)
        add_tags(repo, args.versions)
        started, cpu = time.perf_counter(), time.process_time() + _children_cpu()
        built = build_site(repo, Path(tmp) / "site", live_timeout=None)
        in_process = time.perf_counter() - started
        cpu = time.process_time() + _children_cpu() - cpu
        started, children = time.perf_counter(), _children_cpu()
        subprocess.run(
            [sys.executable, "-m", "mlops", "site", "--out", str(Path(tmp) / "site2"), "--no-live"],
            cwd=repo,
            capture_output=True,
            check=True,
        )
        command = time.perf_counter() - started
        command_cpu = _children_cpu() - children
        size = built.index.stat().st_size
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in built.data.seconds.items())
    print(
        f"site of {len(built.data.versions)} versions and {len(built.data.changes)} changes "
        f"({args.promotions} promotions): build {in_process:.2f} s wall ({cpu:.2f} s CPU incl. "
        f"git; {parts}), `mlops site` {command:.2f} s wall ({command_cpu:.2f} s CPU); "
        f"index.html {size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
