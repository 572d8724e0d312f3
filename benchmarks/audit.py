"""Benchmark: `mlops audit` over 1,000 promotions (goal: under 1 s).

Builds a repository whose history holds N promotion commits, each merged by a
"Merge pull request #N" commit (2N commits, as GitHub's merge button makes them), with
`git fast-import`, then times the audit in-process and as the `mlops audit --json` command.

    .venv/bin/python benchmarks/audit.py [--promotions 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlops.promotion import audit

HEADER = "# Desired deployed state.\nmodels:\n  churn-model:\n"


def models_yaml(staging: int, production: int, canary: int | None) -> str:
    def pin(n: int) -> str:
        return f"version: v1.{n}.0\n      digest: sha256:{n:064x}\n"

    text = (
        HEADER + "    staging:\n      " + pin(staging) + "    production:\n      " + pin(production)
    )
    if canary is not None:
        text += f"      canary:\n        version: v1.{canary}.0\n"
        text += f"        digest: sha256:{canary:064x}\n        traffic: 10\n"
    return text


def _commit(
    out: list[str],
    mark: int,
    parent: int | None,
    merge: int | None,
    msg: str,
    blob: str | None,
    t: int,
) -> None:
    out.append(f"commit refs/heads/main\nmark :{mark}\n")
    out.append(f"author Dev {mark % 7} <dev{mark % 7}@example.com> {t} +0000\n")
    out.append(f"committer Bot <bot@example.com> {t} +0000\n")
    data = msg.encode()
    out.append(f"data {len(data)}\n{msg}\n")
    if parent:
        out.append(f"from :{parent}\n")
    if merge:
        out.append(f"merge :{merge}\n")
    if blob is not None:
        out.append(f"M 100644 inline models.yaml\ndata {len(blob.encode())}\n{blob}\n")
    out.append("\n")


def build(repo: Path, promotions: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    stream: list[str] = []
    t, mark = 1_700_000_000, 1
    state = [0, 0, None]
    _commit(stream, mark, None, None, "initial", models_yaml(0, 0, None), t)
    main = mark
    for n in range(1, promotions + 1):
        env = n % 3
        if env == 0:
            state[0] += 1
        elif env == 1:
            state[2] = state[0]
        else:
            state[1], state[2] = state[0], None
        mark += 1
        t += 60
        _commit(stream, mark, main, None, f"promote #{n}", models_yaml(*state), t)
        branch = mark
        mark += 1
        subject = f"Merge pull request #{n} from team/promote-{n}"
        _commit(stream, mark, main, branch, subject, models_yaml(*state), t + 30)
        main = mark
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=repo, input="".join(stream).encode(), check=True
    )
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promotions", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        build(repo, args.promotions)
        started, cpu = time.perf_counter(), time.process_time() + _children_cpu()
        changes = audit.history(repo)
        in_process = time.perf_counter() - started
        # CPU seconds of this process plus its git children: what a loaded machine cannot inflate
        cpu = time.process_time() + _children_cpu() - cpu
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "mlops", "audit", "--json"],
            cwd=repo,
            capture_output=True,
            check=True,
        )
        command = time.perf_counter() - started
        rows = json.loads(proc.stdout)
    with_pr = sum(1 for c in changes if c.pr)
    print(
        f"audit of {args.promotions} promotions ({2 * args.promotions + 1} commits): "
        f"{len(changes)} changes, {with_pr} with a PR number; "
        f"audit.history {in_process:.3f} s wall ({cpu:.3f} s CPU incl. git), "
        f"`mlops audit --json` {command:.3f} s wall ({len(rows)} rows)"
    )


if __name__ == "__main__":
    main()
