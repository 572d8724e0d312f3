"""Single-row serving throughput and latency: `mlops serve` against `mlflow models serve` on the
same model, side by side with `wrk` on loopback.

    python benchmarks/serving.py [--duration 15] [--connections 32] [--workers 2]

Needs `wrk` (apt-get install -y wrk) and the model of the workspace (`dvc repro` or `dvc pull`).
MLflow lives only in benchmarks/.venv-mlflow (created on first run with uv); it is never a
dependency of the template. Prints one table and the throughput ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from mlops import model_io, models_file, paths, registry
from mlops.models_file import Deployment, Pin
from mlops.serve import launcher

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_VENV = ROOT / "benchmarks" / ".venv-mlflow"
MLFLOW_PINS = ("mlflow==3.17.*", "scikit-learn==1.9.1", "skops==0.16.0")
RECORD = {
    "tenure_months": 14,
    "monthly_charges": 79.85,
    "total_charges": 1117.9,
    "support_tickets": 2,
    "senior_citizen": 0,
    "contract": "month-to-month",
    "payment_method": "electronic-check",
    "internet_service": "fiber",
    "region": "west",
}
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
"""


def sh(*args, cwd=ROOT, **kw) -> str:
    return subprocess.run(args, cwd=cwd, check=True, text=True, capture_output=True, **kw).stdout


def sandbox(tmp: Path) -> Path:
    """A clone of this repository whose models.yaml serves the workspace model as v0.0.1-bench."""
    model = ROOT / paths.MODEL
    if not model.is_file():
        sys.exit(f"{paths.MODEL} is missing: run `dvc repro` (or `dvc pull`) first")
    clone = tmp / "repo"
    sh("git", "clone", "-q", str(ROOT), str(clone))
    # read artifacts from this workspace's DVC cache: no remote needed
    cache = sh(sys.executable, "-m", "dvc", "cache", "dir").strip()
    sh(sys.executable, "-m", "dvc", "cache", "dir", "--local", cache, cwd=clone)
    meta = registry.workspace_metadata(ROOT)
    lock_md5 = registry._dvc_md5(__import__("yaml").safe_load((clone / "dvc.lock").read_text()),
                                 paths.MODEL)  # fmt: skip
    if lock_md5 != meta["md5"]:
        sys.exit(
            "the workspace model differs from the committed dvc.lock; commit or `dvc checkout`"
        )
    version = "v0.0.1"
    sh("git", "tag", "-a", registry.tag_name("churn-model", version), "-m", json.dumps(meta),
       cwd=clone)  # fmt: skip
    text = (clone / paths.MODELS_FILE).read_text()
    deployment = Deployment(Pin(version, model_io.sha256(model)))
    (clone / paths.MODELS_FILE).write_text(
        models_file.with_deployment(text, "production", deployment)
    )
    sh("git", "commit", "-qam", "benchmark: serve the workspace model", cwd=clone)
    return clone


def wrk(url: str, body: str, connections: int, duration: int, tmp: Path) -> dict:
    script = tmp / "post.lua"
    script.write_text(LUA % body)
    out = sh("wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
             url)  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"\s(50|90|99)%\s+([\d.]+\w+)", out)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": pct.get("50"),
        "p90_ms": pct.get("90"),
        "p99_ms": pct.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 3)


def measure(name: str, url: str, body: str, args, tmp: Path) -> list[dict]:
    rows = []
    wrk(url, body, args.connections, 3, tmp)  # warm-up
    for connections in (args.connections, 1):
        result = wrk(url, body, connections, args.duration, tmp)
        rows.append({"server": name, "connections": connections, **result})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def ensure_mlflow_venv() -> Path:
    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
        sh(uv, "venv", "-q", str(MLFLOW_VENV), "--python", "3.11")
        sh(uv, "pip", "install", "-q", "--python", str(python), *MLFLOW_PINS)
    return python


def serve_mlflow(tmp: Path, port: int, workers: int) -> subprocess.Popen:
    python = ensure_mlflow_venv()
    model_dir = tmp / f"mlflow-model-{workers}"
    if not model_dir.exists():
        sh(str(python), str(ROOT / "benchmarks" / "mlflow_model.py"), str(ROOT / paths.MODEL),
           str(model_dir))  # fmt: skip
    log = open(tmp / f"mlflow-{workers}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(MLFLOW_VENV / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir),
         "--env-manager", "local", "--host", "127.0.0.1", "-p", str(port), "-w", str(workers)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PATH": f"{MLFLOW_VENV / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    sys.exit(f"mlflow models serve did not start: {(tmp / f'mlflow-{workers}.log').read_text()}")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients")
    parser.add_argument("--workers", default="2", help="mlops serve workers, e.g. 1,2")
    parser.add_argument("--mlflow-workers", default="1", help="mlflow workers, e.g. 1,2")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp_name:
        tmp = Path(tmp_name)
        repo = sandbox(tmp)
        ours = json.dumps({"records": [RECORD]})
        for workers in map(int, args.workers.split(",")):
            with launcher.start(repo, "production", ref="main", workers=workers,
                                log_sample_rate=0) as server:  # fmt: skip
                assert server.version()["sync"] == "Synced"
                rows += measure(f"mlops serve ({workers} workers)", f"{server.url}/predict",
                                ours, args, tmp)  # fmt: skip
        theirs = json.dumps({"dataframe_records": [RECORD]})
        for workers in map(int, args.mlflow_workers.split(",")):
            port = launcher.free_port()
            proc = serve_mlflow(tmp, port, workers)
            try:
                url = f"http://127.0.0.1:{port}/invocations"
                name = f"mlflow models serve ({workers} workers)"
                rows += measure(name, url, theirs, args, tmp)
            finally:
                stop(proc)
    report(rows, args.connections)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


def report(rows: list[dict], connections: int) -> None:
    print(
        "\n| server | clients | req/s | p50 ms | p90 ms | p99 ms | errors |\n"
        "|---|---|---|---|---|---|---|"
    )
    for r in rows:
        errors = r["non_2xx"] + (1 if r["socket_errors"] else 0)
        print(f"| {r['server']} | {r['connections']} | {r['rps']:.0f} | {r['p50_ms']} | "
              f"{r['p90_ms']} | {r['p99_ms']} | {errors} |")  # fmt: skip
    at = [r for r in rows if r["connections"] == connections]
    ours = max((r for r in at if r["server"].startswith("mlops")), key=lambda r: r["rps"])
    base = next(r for r in at if r["server"] == "mlflow models serve (1 workers)")
    print(f"\nthroughput ratio at {connections} clients: {ours['rps'] / base['rps']:.1f}x "
          f"({ours['server']} vs {base['server']}); p99 {ours['p99_ms']} ms vs "
          f"{base['p99_ms']} ms")  # fmt: skip


if __name__ == "__main__":
    main()
