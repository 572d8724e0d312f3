"""How long `mlops check` takes to replay a candidate on 100,000 logged requests.

    python benchmarks/replay.py [--rows 100000]

A clone of this repository registers the workspace model (as benchmarks/serving.py does), a
prediction log of ``--rows`` single-row requests drawn from the workspace table and answered by
that model is written in the server's format, and ``mlops.promotion.replay.replay`` replays the
same version on it (read the log, fetch and verify the model and its train split, predict,
agreement, shifts, segments, training-row identity). Goal: at most 10 s for 100,000.

Two runs: ``cold`` with an empty artifact cache (``XDG_CACHE_HOME`` in the temporary folder, as
on a fresh CI runner: the model and the train split come through DVC) and ``warm`` right after
(both found in the cache by digest). Each prints wall and CPU seconds (this process's threads
and its children): on a machine shared with other work, CPU is the figure that says what the
replay costs, wall what it took at that load.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import ROOT, sandbox

from mlops.core import paths
from mlops.demos import traffic
from mlops.formats import predlog
from mlops.formats.contract import load_contract
from mlops.model import model_io, registry
from mlops.promotion import replay
from mlops.serve import answers


def write_log(log_dir: Path, rows: int) -> None:
    table, contract = traffic.workspace_table(ROOT)
    records = traffic.records(table, contract, rows, seed=3)
    model = model_io.load(ROOT / paths.MODEL)
    from mlops.serve.validation import for_contract

    values = answers.outputs(model, for_contract(contract).frame(records), contract)
    answer = answers.answer(contract, values, model_io.threshold_of(model))
    folder = predlog.env_dir(log_dir, "production")
    folder.mkdir(parents=True)
    with (folder / predlog.ACTIVE).open("wb") as fh:
        for i, (rec, pred, proba) in enumerate(
            zip(records, answer.predictions, answer.logged_probabilities(), strict=True)
        ):
            line = predlog.record(request_id=f"b-{i}", env="production", model_version="v0.0.1",
                                  route="stable", features=rec, prediction=pred,
                                  probability=proba, latency_ms=1.0)  # fmt: skip
            fh.write(orjson.dumps(line) + b"\n")


def _cpu() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_replay(repo: Path, log_dir: Path, label: str) -> None:
    version = registry.get_version(repo, load_contract(repo).model, "v0.0.1")
    load, cpu, t0 = os.getloadavg()[0], _cpu(), time.perf_counter()
    found = replay.replay(repo, "production", version, "v0.0.1", log_dir=log_dir)
    seconds, cpu = time.perf_counter() - t0, _cpu() - cpu
    print(f"{label}: replayed {found.requests:,} logged requests in {seconds:.2f} s wall, "
          f"{cpu:.2f} s CPU (agreement {found.agreement:.1%}; goal <= 10 s); load average "
          f"{load:.1f} on {os.cpu_count()} cores", flush=True)  # fmt: skip
    for note in found.notes:
        print(f"  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp_name:
        tmp = Path(tmp_name)
        repo = sandbox(tmp)
        write_log(tmp / "log", args.rows)
        os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
        timed_replay(repo, tmp / "log", "cold")
        timed_replay(repo, tmp / "log", "warm")


if __name__ == "__main__":
    main()
