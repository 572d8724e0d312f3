"""The cost of a shadow on the answer's path: `mlops serve` without a shadow and with one at
100 % (the same model pinned again as the shadow), side by side with `wrk` on loopback.

    python benchmarks/shadow.py [--duration 5] [--repeats 3] [--workers 1]
    python benchmarks/serving.py --shadow --workers 1     # the same

Both servers run at once and are measured in turn, repeat after repeat (``serving.side_by_side``),
so load from elsewhere on the machine hits both alike; the ratios are medians of back-to-back
pairs. Goal: 1-client p50 rises at most 10 %, req/s at 32 clients falls at most 20 %. Each run
also records the server's CPU time per request (its whole process session), the figure that load
from elsewhere on the machine barely moves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import _median, _pick, sandbox, sh, side_by_side, workspace_record

from mlops.core import paths
from mlops.formats import models_file, predlog
from mlops.formats.contract import load_contract
from mlops.model import registry
from mlops.serve import launcher

SHADOW = "v0.0.2"
NONE, SHADOWED = "no shadow", "shadow at 100 %"


def with_shadow(repo: Path) -> Path:
    """A copy of the benchmark sandbox whose production pins the same model as a 100 % shadow."""
    copy = repo.parent / "repo-shadow"
    sh("git", "clone", "-q", str(repo), str(copy))
    # the sandbox's local DVC settings: this workspace's cache and remote
    shutil.copy(repo / ".dvc" / "config.local", copy / ".dvc" / "config.local")
    model = load_contract(copy).model
    message = sh("git", "tag", "-l", "--format=%(contents)", registry.tag_name(model, "v0.0.1"),
                 cwd=repo)  # fmt: skip
    sh("git", "tag", "-a", registry.tag_name(model, SHADOW), "-m", message, cwd=copy)
    current = models_file.load(copy / paths.MODELS_FILE).deployment("production")
    shadow = models_file.Shadow(SHADOW, current.stable.digest, 100)
    deployment = models_file.Deployment(current.stable, None, shadow)
    text = models_file.with_deployment(
        (copy / paths.MODELS_FILE).read_text(), "production", deployment
    )
    (copy / paths.MODELS_FILE).write_text(text)
    sh("git", "commit", "-qam", "benchmark: a 100 % shadow", cwd=copy)
    return copy


def measure_shadow(args) -> int:
    """Both servers side by side (``serving.side_by_side``), with each one's CPU per request;
    prints the medians of the back-to-back ratios against the goals."""
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    workers = int(str(args.workers).split(",")[0])
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-shadow-") as tmp_name:
        tmp = Path(tmp_name)
        plain = sandbox(tmp)
        shadowed = with_shadow(plain)
        body = json.dumps({"records": [workspace_record()]})
        common = dict(ref="HEAD", workers=workers, log_sample_rate=1.0)
        with (
            launcher.start(plain, "production", log_dir=str(tmp / "log-a"), **common) as a,
            launcher.start(shadowed, "production", log_dir=str(tmp / "log-b"), **common) as b,
        ):
            assert a.version()["sync"] == "Synced", a.version()
            state = b.version()
            assert state["shadow"] and state["sync"] == "Synced", state
            print(f"inference: {json.dumps(state.get('inference'))}")
            servers = {NONE: (f"{a.url}/predict", body), SHADOWED: (f"{b.url}/predict", body)}
            sessions = {NONE: a.process.pid, SHADOWED: b.process.pid}
            rows = side_by_side(servers, args, tmp, sessions)
            scored = b.version().get("shadow")
        # the servers have stopped (their logs are flushed): how many answers carry the shadow's
        logged = list(predlog.read(tmp / "log-b", "production"))
        with_shadow_output = sum("shadow" in rec for rec in logged)
    failed = [r for r in rows if r["non_2xx"] or r["socket_errors"]]
    assert not failed, f"requests failed: {failed}"
    pairs = {
        c: list(zip(_pick(rows, SHADOWED, c), _pick(rows, NONE, c), strict=True))
        for c in (args.connections, 1)
    }
    rps = _median([s["rps"] / n["rps"] for s, n in pairs[args.connections]])
    p50 = _median([s["p50_ms"] / n["p50_ms"] for s, n in pairs[1]])
    print(f"\nworkers {workers}; shadow: {json.dumps(scored)}")
    print(f"logged answers carrying the shadow's output: {with_shadow_output:,} of {len(logged):,}")
    print(f"req/s at {args.connections} clients, shadow / none: {rps:.3f} (goal >= 0.80)")
    print(f"p50 at 1 client, shadow / none: {p50:.3f} (goal <= 1.10)")
    for c, pair in pairs.items():
        cpu = _median([s["cpu_ms_per_request"] / n["cpu_ms_per_request"] for s, n in pair])
        each = ", ".join(f"{s['cpu_ms_per_request']:.3f}/{n['cpu_ms_per_request']:.3f}"
                         for s, n in pair)  # fmt: skip
        print(f"server CPU per request at {c} client(s), shadow / none: {cpu:.3f} ({each} ms)")
    load_after = os.getloadavg()
    print(f"load average (1 min): before {load_before[0]:.1f}, after {load_after[0]:.1f} on "
          f"{os.cpu_count()} cores")  # fmt: skip
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=1, help="workers of each server")
    parser.add_argument("--repeats", type=int, default=3, help="side-by-side runs")
    sys.exit(measure_shadow(parser.parse_args()))


if __name__ == "__main__":
    main()
