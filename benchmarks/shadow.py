"""The cost of a shadow on the answer's path: `mlops serve` without a shadow and with one at
100 % (the same model pinned again as the shadow), side by side with `wrk` on loopback.

    python benchmarks/shadow.py [--duration 5] [--repeats 3] [--workers 1]

Both servers run at once and are measured in turn, repeat after repeat (``serving.side_by_side``),
so load from elsewhere on the machine hits both alike; the ratios are medians of back-to-back
pairs. Goal: 1-client p50 rises at most 10 %, req/s at 32 clients falls at most 20 %.
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
from mlops.formats import models_file
from mlops.formats.contract import load_contract
from mlops.model import registry
from mlops.serve import launcher

SHADOW = "v0.0.2"


def with_shadow(repo: Path) -> Path:
    """A copy of the benchmark sandbox whose production pins the same model as a 100 % shadow."""
    copy = repo.parent / "repo-shadow"
    sh("git", "clone", "-q", str(repo), str(copy))
    cache = sh(sys.executable, "-m", "dvc", "cache", "dir", cwd=repo).strip()
    sh(sys.executable, "-m", "dvc", "cache", "dir", "--local", cache, cwd=copy)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=1, help="workers of each server")
    parser.add_argument("--repeats", type=int, default=3, help="side-by-side runs")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-shadow-") as tmp_name:
        tmp = Path(tmp_name)
        plain = sandbox(tmp)
        shadowed = with_shadow(plain)
        body = json.dumps({"records": [workspace_record()]})
        common = dict(ref="HEAD", workers=args.workers, log_sample_rate=1.0)
        with (
            launcher.start(plain, "production", log_dir=str(tmp / "log-a"), **common) as a,
            launcher.start(shadowed, "production", log_dir=str(tmp / "log-b"), **common) as b,
        ):
            state = b.version()
            assert state["shadow"] and state["sync"] == "Synced", state
            print(f"inference: {json.dumps(state.get('inference'))}")
            servers = {"no shadow": (f"{a.url}/predict", body),
                       "shadow at 100 %": (f"{b.url}/predict", body)}  # fmt: skip
            rows = side_by_side(servers, args, tmp)
    pairs = {
        c: list(zip(_pick(rows, "shadow at 100 %", c), _pick(rows, "no shadow", c), strict=True))
        for c in (args.connections, 1)
    }
    rps = _median([s["rps"] / n["rps"] for s, n in pairs[args.connections]])
    p50 = _median([s["p50_ms"] / n["p50_ms"] for s, n in pairs[1]])
    print(f"\nreq/s at {args.connections} clients, shadow / none: {rps:.3f} (goal >= 0.80)")
    print(f"p50 at 1 client, shadow / none: {p50:.3f} (goal <= 1.10)")
    load_after = os.getloadavg()
    print(f"load average (1 min): before {load_before[0]:.1f}, after {load_after[0]:.1f} on "
          f"{os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    main()
