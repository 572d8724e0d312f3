"""Start-up of the `mlops` command: wall time and CPU time (user + system) of commands that need
no model, best of N runs, and whether each imported the model stack.

    python benchmarks/startup.py [--repeat 5] [--cwd REPO]

CPU time is the figure to compare on a busy machine: wall time there is mostly waiting for a
core; on an idle machine the two are close.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

COMMANDS = (["--help"], ["versions"], ["audit"], ["check"])
HEAVY = ("sklearn", "pandas", "numpy", "skops", "dvc")


def measure(args: list[str], cwd: str) -> tuple[float, float, list[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlops", *args],
        cwd=cwd, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    names = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    return wall, cpu, sorted(h for h in HEAVY if h in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cwd", default=".", help="A repository to run the commands in.")
    opts = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f}; best of {opts.repeat} (-X importtime adds a little)")
    for args in COMMANDS:
        runs = [measure(args, opts.cwd) for _ in range(opts.repeat)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        heavy = ", ".join(runs[0][2]) or "none"
        print(f"mlops {' '.join(args):10} wall {wall:5.2f} s  cpu {cpu:5.2f} s  heavy: {heavy}")


if __name__ == "__main__":
    main()
