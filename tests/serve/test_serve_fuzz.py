"""Schemathesis fuzzes /predict and the Open Inference Protocol's routes from the server's own
OpenAPI document, against a real server: whatever it sends, no 500 and no crash."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serve import servers
from tests.serve.conftest import GOOD, MODEL

pytestmark = pytest.mark.e2e
EXAMPLES = 25  # per operation: a bounded run that stays fast


def _schema(url: str, out: Path) -> Path:
    """The served document, with the model name pinned so bodies reach the contract's checks
    (a random name only ever meets the 404)."""
    schema = httpx.get(f"{url}/openapi.json", timeout=60).raise_for_status().json()
    for operations in schema["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "name":
                    parameter["schema"] = {"type": "string", "enum": [MODEL]}
                if parameter["name"] == "version":
                    parameter["schema"] = {"type": "string", "enum": [GOOD[0], "v9.9.9"]}
    out.write_text(json.dumps(schema))
    return out


def _refused(url: str) -> float:
    """Requests the server answered 400 or 422 so far (the data contract's refusals)."""
    total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=60).text.splitlines():
        if line.startswith("mlops_requests_total{") and re.search(r'status="4(00|22)"', line):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.xdist_group(servers.CANARY_GROUP)
def test_fuzzed_requests_never_get_a_500(canary_server, tmp_path):
    """On the shared server: v1.0.0 with a canary, so fuzzed bodies reach both models."""
    server = canary_server.server
    schema = _schema(server.url, tmp_path / "openapi.json")
    before = _refused(server.url)
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", str(schema), "--url", server.url,
         "--checks", "not_a_server_error", "--max-examples", str(EXAMPLES), "--seed", "21",
         "--include-path-regex", "^/(predict|v2)", "--request-timeout", "30",
         "--generation-database", "none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in run.stdout.lower()
    assert server.process.poll() is None  # still up
    # fuzzed bodies that reached the data contract's checks, not just routing
    assert _refused(server.url) - before >= EXAMPLES, run.stdout[-2000:]
    assert httpx.get(f"{server.url}/v2/health/ready", timeout=60).json() == {"ready": True}
