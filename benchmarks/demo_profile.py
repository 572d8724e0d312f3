"""Where `make demo`'s time goes: the story run with every command timed (wall and CPU).

    .venv/bin/python benchmarks/demo_profile.py [--where /tmp/demo-profile] [--out FILE]

Runs ``mlops.demos.loop.run`` with ``mlops.core.tools.run`` wrapped: each git, dvc and mlops
command's wall time and CPU time (its process and children, from ``getrusage``) is recorded, then
summed by command (``mlops check``, ``dvc repro``, ...). The servers' CPU is counted when they stop
(the gap between the commands' sum and the total). CPU is the figure load cannot inflate much; wall
time on a shared machine is the CPU shared with everything else.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--where", default="/tmp/demo-profile", help="sandbox folder")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()

    from mlops.core import tools
    from mlops.demos import loop as demo

    rows: list[tuple[str, float, float]] = []
    run = tools.run

    def timed(command, cwd=".", check=True, quiet=True):
        cpu, wall = _cpu(resource.RUSAGE_CHILDREN), time.monotonic()
        try:
            return run(command, cwd=cwd, check=check, quiet=quiet)
        finally:
            name = " ".join(command[:4]).replace(sys.executable, "python")
            spent = _cpu(resource.RUSAGE_CHILDREN) - cpu
            rows.append((name, time.monotonic() - wall, spent))

    tools.run = timed
    start = time.monotonic()
    try:
        demo.run(args.where)
    finally:
        total_wall = time.monotonic() - start
        total_cpu = _cpu(resource.RUSAGE_CHILDREN) + _cpu(resource.RUSAGE_SELF)
        sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        for name, wall, cpu in rows:
            key = " ".join(name.split()[:4])  # e.g. python -m mlops check
            sums[key][0] += 1
            sums[key][1] += wall
            sums[key][2] += cpu
        lines = ["| command | runs | wall s | CPU s |", "|---|---:|---:|---:|"]
        for key, (n, wall, cpu) in sorted(sums.items(), key=lambda kv: -kv[1][2]):
            if cpu >= 0.5:
                lines.append(f"| `{key}` | {n} | {wall:.1f} | {cpu:.1f} |")
        commands = sum(cpu for _, _, cpu in rows)
        lines.append(f"| everything (servers: the rest, {total_cpu - commands:.1f} s CPU) | "
                     f"{len(rows)} | {total_wall:.1f} | {total_cpu:.1f} |")  # fmt: skip
        table = "\n".join(lines)
        print(table)
        if args.out:
            args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
