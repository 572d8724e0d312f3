"""Where the test suite's time goes: a pytest plugin that records, per test and phase (setup,
call, teardown), the wall time and every subprocess the test process started (`dvc repro`, other
DVC commands, `mlops` commands, servers, git), with the wall time spent waiting for them.

    PYTHONPATH=. .venv/bin/python -m pytest -p benchmarks.suite_profile tests/promotion
    .venv/bin/python benchmarks/suite_profile.py --top 20     # the slowest, where their time goes

Each pytest process (each xdist worker) writes benchmarks/results/suite-profile-<worker>.json;
subprocesses started by subprocesses (DVC's own git calls) count in their parent's time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

RESULTS = Path(__file__).parent / "results"
_current: list[str] = ["", ""]  # nodeid, phase
_records: dict = defaultdict(
    lambda: defaultdict(lambda: {"s": 0.0, "cpu": 0.0, "n": defaultdict(int)})
)
_waits: dict = defaultdict(lambda: defaultdict(float))


def kind(args) -> str:
    """A short name for a command line: `dvc repro`, `mlops deploy`, `serve`, `git`, ..."""
    words = [str(a) for a in ([args] if isinstance(args, (str, bytes)) else args)]
    words = [w.decode() if isinstance(w, bytes) else w for w in words]
    if len(words) >= 3 and words[1] == "-m":
        module, rest = words[2], words[3:]
        if module == "mlops" and rest and rest[0] == "serve":
            return "serve"
        if module.startswith("mlops.stages."):
            return "stage"
        return f"{module} {rest[0]}" if rest else module
    return Path(words[0]).name if words else "?"


def _audit(event: str, args) -> None:
    if event == "subprocess.Popen" and _current[0]:
        _records[_current[0]][_current[1]]["n"][kind(args[1])] += 1


_run = subprocess.run


def _timed_run(*args, **kwargs):
    start = time.perf_counter()
    try:
        return _run(*args, **kwargs)
    finally:
        if _current[0]:
            command = args[0] if args else kwargs.get("args", "?")
            _waits[_current[0]][kind(command)] += time.perf_counter() - start


def pytest_configure(config):
    sys.addaudithook(_audit)
    subprocess.run = _timed_run


def _cpu() -> float:
    """CPU seconds (user + system) of this process and the children it waited for: unlike wall
    time, hardly changed by other work on the machine."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def _phase(name):
    @pytest.hookimpl(hookwrapper=True)
    def hook(item, *args):
        _current[:] = [item.nodeid, name]
        start, cpu = time.perf_counter(), _cpu()
        yield
        _records[item.nodeid][name]["s"] += time.perf_counter() - start
        _records[item.nodeid][name]["cpu"] += _cpu() - cpu
        _current[:] = ["", ""]

    return hook


pytest_runtest_setup = _phase("setup")
pytest_runtest_call = _phase("call")
pytest_runtest_teardown = _phase("teardown")


def pytest_unconfigure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    RESULTS.mkdir(exist_ok=True)
    out = {
        node: {
            "phases": {
                p: {"s": r["s"], "cpu": r["cpu"], "n": dict(r["n"])} for p, r in phases.items()
            },
            "waits": dict(_waits[node]),
            "worker": worker,
        }
        for node, phases in _records.items()
    }
    (RESULTS / f"suite-profile-{worker}.json").write_text(json.dumps(out, indent=1))


def summarize(top: int) -> str:
    tests: dict = {}
    for path in sorted(RESULTS.glob("suite-profile-*.json")):
        tests.update(json.loads(path.read_text()))
    rows = sorted(tests.items(), key=lambda kv: -sum(p["s"] for p in kv[1]["phases"].values()))
    lines = [
        "| test | total s | CPU s | setup s | call s | subprocesses (count, wall s) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for node, rec in rows[:top]:
        phases = rec["phases"]
        counts: dict = defaultdict(int)
        for phase in phases.values():
            for name, n in phase["n"].items():
                counts[name] += n
        spent = sorted(counts, key=lambda k: -rec["waits"].get(k, 0))
        what = ", ".join(
            f"{k} ×{counts[k]}" + (f" {rec['waits'][k]:.1f}" if rec["waits"].get(k) else "")
            for k in spent
        )
        total = sum(p["s"] for p in phases.values())
        cpu = sum(p.get("cpu", 0.0) for p in phases.values())
        setup, call = (phases.get(p, {}).get("s", 0.0) for p in ("setup", "call"))
        lines.append(f"| `{node}` | {total:.1f} | {cpu:.1f} | {setup:.1f} | {call:.1f} | {what} |")
    totals = [sum(p.get("cpu", 0.0) for p in rec["phases"].values()) for rec in tests.values()]
    lines.append(
        f"\n{len(tests)} tests, CPU of all (tests and their subprocesses): {sum(totals):.0f} s"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=20)
    print(summarize(parser.parse_args().top))
