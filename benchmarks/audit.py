"""Benchmark: `mlops audit` over 1,000 promotions (goal: under 1 s) and `mlops check` of a
promotion against that history (goal: under 2 s).

Builds a repository whose history holds N promotion commits, each merged by a
"Merge pull request #N" commit (2N commits, as GitHub's merge button makes them), and one
registered tag per version, with `git fast-import`; then times the audit in-process and as the
`mlops audit --json` command, and `mlops check --base main` of one more promotion (which reads
the first-parent history, the tags, the base's policy and asks the DVC remote).

    .venv/bin/python benchmarks/audit.py [--promotions 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from mlops.model import registry
from mlops.promotion import audit, check, ledger

ROOT = Path(__file__).resolve().parents[1]
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


def _tag(out: list[str], version: int, mark: int, t: int) -> None:
    metadata = {
        "artifact": "artifacts/model.skops",
        "md5": f"{version:032x}",
        "sha256": f"sha256:{version:064x}",
        "metrics": {"roc_auc": 0.9, "f1": 0.7},
    }
    data = json.dumps(metadata).encode()
    out.append(f"tag churn-model@v1.{version}.0\nfrom :{mark}\n")
    out.append(f"tagger Bot <bot@example.com> {t} +0000\ndata {len(data)}\n{data.decode()}\n")


def _policy_files(out: list[str]) -> None:
    """The template's environments, gates reduced to the metrics the fake tags record."""
    for path in sorted((ROOT / "environments").glob("*.yaml")):
        config = yaml.safe_load(path.read_text())
        config["gates"] = {"min": {"roc_auc": 0.8}}
        text = yaml.safe_dump(config, sort_keys=False)
        out.append(f"M 100644 inline environments/{path.name}\ndata {len(text.encode())}\n")
        out.append(f"{text}\n")


def build(repo: Path, promotions: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    stream: list[str] = []
    t, mark = 1_700_000_000, 1
    state = [0, 0, None]
    _commit(stream, mark, None, None, "initial", models_yaml(0, 0, None), t)
    policy: list[str] = []
    _policy_files(policy)
    stream.insert(-1, "".join(policy))
    _tag(stream, 0, mark, t)
    main = mark
    for n in range(1, promotions + 1):
        env = n % 3
        if env == 0:
            state[0] += 1
            _tag(stream, state[0], main, t)
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


def prepare_check(repo: Path, promotions: int) -> None:
    """A DVC remote (empty: every artifact is reported missing, after one query each) and one
    more promotion in the working tree: production to staging's version."""
    remote = repo.parent / "dvc-remote"
    remote.mkdir()
    for args in (["init", "-q"], ["remote", "add", "-d", "storage", str(remote)]):
        dvc = [sys.executable, "-m", "dvc", *args]
        subprocess.run(dvc, cwd=repo, check=True, capture_output=True)
    staging = promotions // 3
    (repo / "models.yaml").write_text(models_yaml(staging, staging, None))


def timed_command(repo: Path, *args: str) -> tuple[float, float, bytes]:
    """Wall and CPU seconds (interpreter start-up included) of `mlops ARGS`, and its stdout."""
    started, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run([sys.executable, "-m", "mlops", *args], cwd=repo, capture_output=True)
    return time.perf_counter() - started, _children_cpu() - cpu, proc.stdout


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_records(repo: Path) -> tuple[float, float, int]:
    """Record every registered version under models.yaml's ``registered:`` (the worst case: one
    record per tag), commit it, and time the check `mlops audit` adds: each record against
    its tag now. (wall s, CPU s incl. git, records)"""
    entries = {v.tag: ledger.record(v) for v in registry.list_versions(repo, "churn-model")}
    text = (repo / "models.yaml").read_text() + yaml.safe_dump({ledger.KEY: entries})
    (repo / "models.yaml").write_text(text)
    subprocess.run(["git", "commit", "-qam", "records"], cwd=repo, check=True)
    started, cpu = time.perf_counter(), time.process_time() + _children_cpu()
    problems = ledger.problems_at(repo, "HEAD")
    assert not problems, problems[:1]
    records = text.count("object:")
    return time.perf_counter() - started, time.process_time() + _children_cpu() - cpu, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promotions", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        print(
            "load average (1, 5, 15 min) at the start: "
            + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        )
        build(repo, args.promotions)
        started, cpu = time.perf_counter(), time.process_time() + _children_cpu()
        changes = audit.history(repo)
        in_process = time.perf_counter() - started
        # CPU seconds of this process plus its git children: what a loaded machine cannot inflate
        cpu = time.process_time() + _children_cpu() - cpu
        command, command_cpu, out = timed_command(repo, "audit", "--json")
        rows = json.loads(out)
        prepare_check(repo, args.promotions)
        started, check_cpu = time.perf_counter(), time.process_time() + _children_cpu()
        report = check.check(repo, base="main")
        check_in_process = time.perf_counter() - started
        check_cpu = time.process_time() + _children_cpu() - check_cpu
        check_command, check_command_cpu, _ = timed_command(repo, "check", "--base", "main")
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=repo, check=True)
        # no candidate: models.yaml as main has it (what a PR that changes only policy meets)
        unchanged, unchanged_cpu, _ = timed_command(repo, "check", "--base", "main")
        records_wall, records_cpu, records = time_records(repo)
    with_pr = sum(1 for c in changes if c.pr)
    print(
        f"audit of {args.promotions} promotions ({2 * args.promotions + 1} commits): "
        f"{len(changes)} changes, {with_pr} with a PR number; "
        f"audit.history {in_process:.3f} s wall ({cpu:.3f} s CPU incl. git), "
        f"`mlops audit --json` {command:.3f} s wall ({command_cpu:.3f} s CPU, {len(rows)} rows)"
    )
    print(
        f"check of one promotion against that history: check.check {check_in_process:.3f} s wall "
        f"({check_cpu:.3f} s CPU incl. git), "
        f"`mlops check` {check_command:.3f} s wall ({check_command_cpu:.3f} s CPU) "
        f"({len(report.plans)} plans, {len(report.failures)} failure(s): "
        f"{'; '.join(f[:80] for f in report.failures)})"
    )
    print(
        f"`mlops check` without a candidate (models.yaml unchanged): {unchanged:.3f} s wall "
        f"({unchanged_cpu:.3f} s CPU)"
    )
    print(
        f"registration records ({records}) checked against the tags, as `mlops audit` does: "
        f"{records_wall:.3f} s wall ({records_cpu:.3f} s CPU incl. git)"
    )
    print(
        "load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )


if __name__ == "__main__":
    main()
