"""The end of `make demo`: drifted traffic to a live server, then the drift report on its logs.

The demo (``mlops.demos.loop``) and the end-to-end tests take these steps once production serves
a version: the drift report needs logged traffic to compare with the training data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from mlops.core.errors import MlopsError
from mlops.demos import traffic
from mlops.formats import predlog
from mlops.formats.contract import load_contract


def records(repo: str | Path, rows: int, *, seed: int = 7, drift: float = 0.0) -> list[dict]:
    """``rows`` request records made from ``repo``'s own table (``traffic.records``)."""
    table, contract = traffic.workspace_table(repo)
    return traffic.records(table, contract, rows, seed=seed, drift=drift)


def send_traffic(server_url: str, customers: list[dict], *, batch: int = 50) -> int:
    """POST records to ``/predict`` in batches; return the rows predicted."""
    import httpx

    done = 0
    with httpx.Client(base_url=server_url.rstrip("/"), timeout=30) as client:
        for start in range(0, len(customers), batch):
            chunk = customers[start : start + batch]
            response = client.post("/predict", json={"records": chunk})
            if response.status_code != 200:
                raise MlopsError(
                    f"{server_url}/predict answered {response.status_code}: {response.text[:300]}"
                )
            done += len(chunk)
    return done


def wait_for_log(
    log_dir: Path, env: str, version: str, at_least: int, timeout: float = 30.0
) -> int:
    """The server writes its log off the request path: wait until ``at_least`` records of
    ``version`` are on disk."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = sum(1 for r in predlog.read(log_dir, env) if r.get("model_version") == version)
        if count >= at_least:
            return count
        time.sleep(0.2)
    raise MlopsError(
        f"{predlog.env_dir(log_dir, env)}: only {count} of {at_least} logged records of "
        f"{version} after {timeout:g}s; is the server's --log-dir this folder?"
    )


def demo_drift(
    repo: str | Path,
    server_url: str,
    *,
    env: str = "production",
    rows: int = 2000,
    drift: float = 1.0,
    seed: int = 7,
    log_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    echo: Callable[[str], None] = print,
):
    """Send drifted traffic made from the repository's own table (``traffic.records``) to
    ``server_url``, run drift on the server's prediction log and show the report. Returns the
    ``DriftResult`` (``.exit_code``: 1 = drift found, which is what this demo expects)."""
    from mlops.monitoring import drift as drift_api

    repo = Path(repo)
    log_dir = Path(log_dir) if log_dir is not None else repo / predlog.DEFAULT_DIR
    version = drift_api.stable_version(repo, env).version
    before = sum(1 for r in predlog.read(log_dir, env) if r.get("model_version") == version)
    data = load_contract(repo).data
    echo(
        f"sending {rows} records of {data}, drifted (numeric columns shifted by {drift:g} "
        f"standard deviation, rarest categories reweighted), to {server_url}"
    )
    sent = send_traffic(server_url, records(repo, rows, seed=seed, drift=drift))
    # a canary may take a share of the rows; the stable's share is what drift reads
    wait_for_log(log_dir, env, version, before + max(1, sent // 2))
    return report_drift(repo, env, log_dir=log_dir, out_dir=out_dir, echo=echo)


def report_drift(
    repo: str | Path,
    env: str = "production",
    *,
    log_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    echo: Callable[[str], None] = print,
):
    """`mlops drift` on the log as it is now; show the markdown, say where the reports are."""
    from mlops.monitoring import drift as drift_api

    result, files = drift_api.run(repo, env, log_dir=log_dir, out_dir=out_dir)
    echo(drift_api.markdown(result))
    echo(f"full report: {files['html']} (open it in a browser); JSON: {files['json']}")
    return result
