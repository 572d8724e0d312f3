"""Servers shared by the tests that only read from them (fixtures in tests/serve/conftest.py).

Each is started once per xdist worker; its tests carry ``pytest.mark.xdist_group`` with the
server's name so they run on the same worker and the server starts once. A test that changes
models.yaml, a ref, the remote or a setting starts its own server instead.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from mlops.core import paths
from mlops.model import registry
from mlops.serve import launcher
from tests.conftest import private_copy
from tests.serve.conftest import GOOD, MODEL, deploy

CANARY_GROUP, PINNED_GROUP = "canary-server", "pinned-server"
TRAFFIC = 30  # the canary's share of the canary server's requests, percent
HASH_KEY = "pinned-test-secret-key"  # the secret personal columns are hashed with


class Shared(NamedTuple):
    server: launcher.ServerHandle
    grpc_port: int
    repo: Path  # the repository it serves (pinned: the one the file was copied from)
    model_file: Path | None = None  # pinned: the mounted file


def start_pinned(tmp: Path, model_file: Path, version: str, digest: str, log_dir: str = "logs",
                 key: str = HASH_KEY, grpc_port=0) -> launcher.ServerHandle:  # fmt: skip
    """`mlops serve-pinned` as the image runs it: no Git on PATH, no repository."""
    port = launcher.free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": str(Path(sys.executable).parent),  # no git anywhere on PATH
        "HOME": str(tmp),
        "MLOPS_MODEL_FILE": str(model_file),
        "MLOPS_MODEL_VERSION": version,
        "MLOPS_MODEL_DIGEST": digest,
        "MLOPS_MODEL_NAME": MODEL,
        "MLOPS_MODEL_THRESHOLD": "0.5",
        "MLOPS_ENV": "production",
        "MLOPS_STATE_DIR": str(tmp / "state"),
        "MLOPS_LOG_DIR": log_dir,
        "MLOPS_LOG_HASH_KEY": key,
        "MLOPS_GRPC_PORT": str(grpc_port),  # 0: off (the default, 8081, is not ours to take)
    }
    log = tmp / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlops", "serve-pinned", "--host", "127.0.0.1", "--port",
             str(port)],
            cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    handle = launcher.ServerHandle(f"http://127.0.0.1:{port}", "production", "", process, log)
    try:
        handle.wait_started(120)
    except BaseException:
        handle.stop()
        raise
    return handle


@contextmanager
def canary(versions_repo: Path, base: Path) -> Iterator[Shared]:
    """`mlops serve` (one worker, gRPC on) following a private copy whose staging serves v1.0.0
    with v1.1.0 as a canary on TRAFFIC percent, deployed and synced after the server started."""
    repo = private_copy(versions_repo.parent, base)
    grpc_port = launcher.free_port()
    # --no-policy: a session fixture starts before the tests' MLOPS_SERVE_POLICY=0
    args = ("--grpc-port", str(grpc_port), "--no-policy")
    with launcher.start(repo, "staging", workers=1, extra_args=args) as server:
        deploy(repo, "staging", GOOD[0], canary=GOOD[1], traffic=TRAFFIC)
        state = server.sync()
        assert state["sync"] == "Synced", state
        yield Shared(server, grpc_port, repo)


@contextmanager
def pinned(versions_repo: Path, base: Path) -> Iterator[Shared]:
    """`mlops serve-pinned` serving v1.1.0's file mounted as KServe mounts it (named by its
    DVC md5), its prediction log on stdout (`MLOPS_LOG_DIR=-`), gRPC on."""
    version = registry.get_version(versions_repo, MODEL, GOOD[1])  # the workspace's model
    mounted = base / "mnt" / "models" / version.metadata["md5"][2:]
    mounted.parent.mkdir(parents=True)
    shutil.copy(versions_repo / paths.MODEL, mounted)
    grpc_port = launcher.free_port()
    with start_pinned(base / "run", mounted, GOOD[1], version.digest, "-",
                      grpc_port=grpc_port) as server:  # fmt: skip
        yield Shared(server, grpc_port, versions_repo, mounted)
