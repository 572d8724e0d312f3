"""Single-row serving throughput and latency: `mlops serve` against the HTTP floor of its own
stack and against `mlflow models serve`, on the same model, with `wrk` on loopback.

    python benchmarks/serving.py [--duration 10] [--repeats 3] [--workers 2] [--mlflow-workers 2]
    python benchmarks/serving.py --shadow --workers 1 [--duration 5]   # a shadow's cost

The floor (benchmarks/floor_app.py: FastAPI + uvicorn + orjson, parse the body, constant answer)
and `mlops serve` (prediction log on) run at the same time with the same worker count and are
measured in turn, repeat after repeat, so load from elsewhere on the machine hits both alike; the
ratios are medians of those back-to-back pairs. MLflow runs afterwards with the same worker count
unless told otherwise. Needs `wrk` (apt-get install -y wrk) and the model of the workspace
(`dvc repro` or `dvc pull`). MLflow lives only in benchmarks/.venv-mlflow (created on first run
with uv); it is never a dependency of the template.
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

from mlops.core import paths
from mlops.formats import models_file
from mlops.formats.contract import load_contract
from mlops.formats.models_file import Deployment, Pin
from mlops.model import model_io, registry
from mlops.serve import launcher

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_VENV = ROOT / "benchmarks" / ".venv-mlflow"
MLFLOW_PINS = ("mlflow==3.17.*", "scikit-learn==1.9.1", "skops==0.16.0")


def workspace_record(root: Path = ROOT) -> dict:
    """The first complete holdout row of the workspace's own table, features only: the benchmark
    sends what the served model was trained on, whatever table the repository adopted."""
    import pandas as pd

    contract = load_contract(root)
    holdout = root / paths.HOLDOUT
    if not holdout.is_file():
        sys.exit(f"{paths.HOLDOUT} is missing: run `dvc repro` (or `dvc pull`) first")
    frame = pd.read_csv(holdout, nrows=1000)[list(contract.features)].dropna()
    if frame.empty:
        sys.exit(f"{paths.HOLDOUT}: no row without nulls in its first 1,000 to send")
    return json.loads(frame.head(1).to_json(orient="records"))[0]


LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
"""


def sh(*args, cwd=ROOT, **kw) -> str:
    return subprocess.run(args, cwd=cwd, check=True, text=True, capture_output=True, **kw).stdout


def sandbox(tmp: Path) -> Path:
    """A clone of this repository whose models.yaml serves the workspace model as v0.0.1-bench.

    Its servers apply what the clone's HEAD says without the promotion policy (a benchmark
    measures serving, not the order of environments): ``MLOPS_SERVE_POLICY=0``."""
    os.environ["MLOPS_SERVE_POLICY"] = "0"
    model = ROOT / paths.MODEL
    if not model.is_file():
        sys.exit(f"{paths.MODEL} is missing: run `dvc repro` (or `dvc pull`) first")
    clone = tmp / "repo"
    sh("git", "clone", "-q", str(ROOT), str(clone))
    # read artifacts from this workspace's DVC cache: no remote needed
    cache = sh(sys.executable, "-m", "dvc", "cache", "dir").strip()
    sh(sys.executable, "-m", "dvc", "cache", "dir", "--local", cache, cwd=clone)
    # and this workspace's remotes: the server checks that what it deploys is in the remote
    # (a relative url would point inside the clone)
    for line in sh(sys.executable, "-m", "dvc", "remote", "list").splitlines():
        name, url = line.split()[:2]  # "NAME URL [(default)]"
        sh(sys.executable, "-m", "dvc", "remote", "modify", "--local", name, "url", url, cwd=clone)
    meta = registry.workspace_metadata(ROOT)
    lock_md5 = registry._dvc_md5(__import__("yaml").safe_load((clone / "dvc.lock").read_text()),
                                 paths.MODEL)  # fmt: skip
    if lock_md5 != meta["md5"]:
        sys.exit(
            "the workspace model differs from the committed dvc.lock; commit or `dvc checkout`"
        )
    version = "v0.0.1"
    tag = registry.tag_name(load_contract(ROOT).model, version)
    sh("git", "tag", "-a", tag, "-m", json.dumps(meta), cwd=clone)
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
    threads = f"-t{min(2, connections)}"
    out = sh("wrk", threads, f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
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


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) of every live process of session ``sid``: a server started
    in its own session (``launcher.start``), its workers and all their threads."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields after the name: state ppid pgrp session ...
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def side_by_side(
    servers: dict[str, tuple[str, str]], args, tmp: Path, sessions: dict[str, int] | None = None
) -> list[dict]:
    """Each server in turn, per client count, ``repeats`` times: a change of load on the
    machine hits both alike, and each repeat gives a pair measured seconds apart. With
    ``sessions`` (server name -> session id), each run also records the server's CPU time per
    request, which load elsewhere on the machine barely moves."""
    for url, body in servers.values():
        wrk(url, body, args.connections, 3, tmp)  # warm-up
    rows = []
    for repeat in range(args.repeats):
        order = list(servers.items())
        if repeat % 2:
            order.reverse()
        for connections in (args.connections, 1):
            for name, (url, body) in order:
                sid = (sessions or {}).get(name)
                cpu = session_cpu(sid) if sid else 0.0
                result = wrk(url, body, connections, args.duration, tmp)
                if sid:
                    served = max(result["rps"] * args.duration, 1)
                    result["cpu_ms_per_request"] = round(
                        (session_cpu(sid) - cpu) * 1000 / served, 4
                    )
                rows.append({"server": name, "connections": connections, "repeat": repeat,
                             "load_avg": round(os.getloadavg()[0], 2), **result})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
    return rows


def start_floor(workers: int, tmp: Path, record: dict) -> tuple[subprocess.Popen, str]:
    port = launcher.free_port()
    log = open(tmp / f"floor-{workers}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "floor_app:app", "--app-dir", str(ROOT / "benchmarks"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning", "--no-access-log"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/predict"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.post(url, json={"records": [record]}, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    stop(proc)
    sys.exit(f"the floor server did not start: {(tmp / f'floor-{workers}.log').read_text()}")


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
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients")
    parser.add_argument("--workers", default="2", help="workers of ours and the floor, e.g. 1,2")
    parser.add_argument(
        "--mlflow-workers",
        default=None,
        help="mlflow workers, e.g. 1,2 (default: --workers; 'none' skips MLflow)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="side-by-side runs per setting")
    parser.add_argument(
        "--log-sample-rate",
        type=float,
        default=1.0,
        help="our prediction log (1: every request, as production runs)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="measure a 100 %% shadow's cost instead: `mlops serve` without and with one, side "
        "by side, each with the first of --workers (benchmarks/shadow.py)",
    )
    args = parser.parse_args()
    if args.shadow:
        from shadow import measure_shadow

        sys.exit(measure_shadow(args))
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    workers_list = [int(w) for w in args.workers.split(",")]
    mlflow_arg = args.mlflow_workers or args.workers
    mlflow_list = [] if mlflow_arg == "none" else [int(w) for w in mlflow_arg.split(",")]
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp_name:
        tmp = Path(tmp_name)
        repo = sandbox(tmp)
        record = workspace_record()
        ours = json.dumps({"records": [record]})
        for workers in workers_list:
            floor, floor_url = start_floor(workers, tmp, record)
            try:
                # the sandbox commits the bench version straight to main: no promotion policy
                with launcher.start(repo, "production", ref="HEAD", workers=workers,
                                    log_dir=str(tmp / "predlog"),
                                    log_sample_rate=args.log_sample_rate,
                                    extra_args=("--no-policy",)) as server:  # fmt: skip
                    state = server.version()
                    assert state["sync"] == "Synced", state
                    print(f"mlops serve inference: {json.dumps(state.get('inference'))}")
                    servers = {
                        f"http floor ({workers} workers)": (floor_url, ours),
                        f"mlops serve ({workers} workers)": (f"{server.url}/predict", ours),
                    }
                    rows += side_by_side(servers, args, tmp)
            finally:
                stop(floor)
        theirs = json.dumps({"dataframe_records": [record]})
        for workers in mlflow_list:
            port = launcher.free_port()
            proc = serve_mlflow(tmp, port, workers)
            try:
                url = f"http://127.0.0.1:{port}/invocations"
                name = f"mlflow models serve ({workers} workers)"
                rows += measure(name, url, theirs, args, tmp)
            finally:
                stop(proc)
    load_after = os.getloadavg()
    summary = report(rows, args.connections, workers_list)
    print(f"\nload average (1, 5, 15 min): before {_load(load_before)}, after {_load(load_after)} "
          f"on {os.cpu_count()} cores")  # fmt: skip
    if args.json:
        out = {"rows": rows, "ratios": summary, "load_before": load_before,
               "load_after": load_after}  # fmt: skip
        args.json.write_text(json.dumps(out, indent=2) + "\n")


def _load(values) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _pick(rows: list[dict], server: str, connections: int) -> list[dict]:
    return [r for r in rows if r["server"] == server and r["connections"] == connections]


def report(rows: list[dict], connections: int, workers_list: list[int]) -> list[dict]:
    """The table (medians over repeats) and, per worker count, the three ratios."""
    print(
        "\n| server | clients | runs | req/s | p50 ms | p90 ms | p99 ms | errors |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    seen = []
    for r in rows:
        if (r["server"], r["connections"]) not in seen:
            seen.append((r["server"], r["connections"]))
    for server, clients in seen:
        runs = _pick(rows, server, clients)
        errors = sum(r["non_2xx"] + (1 if r["socket_errors"] else 0) for r in runs)
        med = {k: _median([r[k] for r in runs]) for k in ("rps", "p50_ms", "p90_ms", "p99_ms")}
        print(f"| {server} | {clients} | {len(runs)} | {med['rps']:.0f} | {med['p50_ms']:.3f} | "
              f"{med['p90_ms']:.3f} | {med['p99_ms']:.3f} | {errors} |")  # fmt: skip
    summary = []
    for workers in workers_list:
        summary.append(_ratios(rows, connections, workers))
    return summary


def _ratios(rows: list[dict], connections: int, workers: int) -> dict:
    """Paired ratios: each repeat's floor and ours were measured back to back; the median."""
    ours, floor = f"mlops serve ({workers} workers)", f"http floor ({workers} workers)"
    rps = [
        o["rps"] / f["rps"]
        for o, f in zip(
            _pick(rows, ours, connections), _pick(rows, floor, connections), strict=True
        )
    ]
    p50 = [o["p50_ms"] / f["p50_ms"] for o, f in
           zip(_pick(rows, ours, 1), _pick(rows, floor, 1), strict=True)]  # fmt: skip
    p99 = [o["p99_ms"] / f["p99_ms"] for o, f in zip(
        _pick(rows, ours, connections), _pick(rows, floor, connections), strict=True)]  # fmt: skip
    out = {"workers": workers, "rps_vs_floor": round(_median(rps), 3),
           "p50_vs_floor": round(_median(p50), 2),
           "p99_vs_floor": round(_median(p99), 2)}  # fmt: skip
    print(f"\n{workers} workers each:")
    print(f"  req/s at {connections} clients, ours / floor: {out['rps_vs_floor']:.2f} "
          f"(goal >= 0.4; per repeat {', '.join(f'{v:.2f}' for v in rps)})")  # fmt: skip
    print(f"  p99 at {connections} clients, ours / floor: {out['p99_vs_floor']:.1f}x "
          f"(goal <= 3x; per repeat {', '.join(f'{v:.1f}' for v in p99)})")  # fmt: skip
    print(f"  p50 at 1 client, ours / floor: {out['p50_vs_floor']:.1f}x "
          f"(goal <= 5x; per repeat {', '.join(f'{v:.1f}' for v in p50)})")  # fmt: skip
    mlflow = _pick(rows, f"mlflow models serve ({workers} workers)", connections)
    if mlflow:
        ours_rps = _median([r["rps"] for r in _pick(rows, ours, connections)])
        out["rps_vs_mlflow"] = round(ours_rps / mlflow[0]["rps"], 1)
        print(f"  req/s at {connections} clients, ours / MLflow: {out['rps_vs_mlflow']:.1f}x "
              f"({ours_rps:.0f} vs {mlflow[0]['rps']:.0f}; p99 "
              f"{_median([r['p99_ms'] for r in _pick(rows, ours, connections)]):.1f} ms vs "
              f"{mlflow[0]['p99_ms']} ms)")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
