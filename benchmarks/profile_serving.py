"""Where a request's time goes in `mlops serve`: one worker under cProfile, loaded by `wrk`.

    python benchmarks/profile_serving.py [--connections 1,32] [--duration 10] [--top 25]

Serves the workspace model from the same sandbox as benchmarks/serving.py (prediction log on),
with one worker so uvicorn runs in the profiled process, then prints the functions with the most
time of their own for each client count. cProfile sees the event loop's thread (parsing,
validation, batching, metrics, serialisation); predict and the log writer run on their own
threads and are measured by benchmarks/serving.py and the evaluate stage.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from serving import sandbox, workspace_record, wrk

from mlops.serve import launcher
from mlops.serve.settings import TOKEN_ENV

REQUEST_PATH = (
    r"mlops/serve|mlops/inference|starlette|fastapi|uvicorn|prometheus|asyncio|orjson|numpy|"
    r"treelite|\{"
)


def profile(repo: Path, tmp: Path, connections: int, duration: int, top: int) -> str:
    port = launcher.free_port()
    out = tmp / f"serve-{connections}.prof"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "mlops", "serve",
         "--env", "production", "--ref", "HEAD", "--port", str(port), "--workers", "1",
         "--log-dir", str(tmp / "predlog")],
        cwd=repo, start_new_session=True, env={**os.environ, TOKEN_ENV: "profile"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    body = json.dumps({"records": [workspace_record()]})
    result = wrk(f"{url}/predict", body, connections, duration, tmp)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(30)
    text = io.StringIO()
    # the request path only: start-up (imports, loading the model) is not what a request pays
    stats = pstats.Stats(str(out), stream=text).sort_stats("tottime")
    stats.print_stats(REQUEST_PATH, top)
    stats.print_callees(r"serve/app.py:\d+\(predict\)")  # where our own handler's time goes
    return f"## {connections} client(s): {result['rps']:.0f} req/s, p50 {result['p50_ms']} ms\n" + (
        text.getvalue()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp_name:
        tmp = Path(tmp_name)
        repo = sandbox(tmp)
        for connections in map(int, args.connections.split(",")):
            print(profile(repo, tmp, connections, args.duration, args.top), flush=True)


if __name__ == "__main__":
    main()
