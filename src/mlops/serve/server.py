"""Run the server: check the settings, prepare this server's state folder, start uvicorn."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse

from mlops.core import tools
from mlops.core.errors import ConfigError, MlopsError
from mlops.formats import environments
from mlops.serve.settings import ENV_VAR, TOKEN_ENV, Settings

APP = "mlops.serve.app:create_app"


def repo_root(start: str | Path = ".") -> Path:
    proc = tools.run(["git", "rev-parse", "--show-toplevel"], cwd=start, check=False)
    if proc.returncode != 0:
        raise MlopsError(
            f"{Path(start).resolve()} is not inside a Git repository; `mlops serve` runs in a "
            "clone of the repository (it reads models.yaml from Git)"
        )
    return Path(proc.stdout.strip())


def default_address(env: str, root: Path) -> tuple[str, int]:
    """Host and port from ``environments/<env>.yaml`` ``serving.url``."""
    url = urlparse(environments.load(env, root).serving.url)
    if not url.port:
        raise ConfigError(
            f"environments/{env}.yaml", "serving.url", "needs a port", value=url.geturl()
        )
    return url.hostname or "127.0.0.1", url.port


def settings_for(env: str, root: Path, **options) -> Settings:
    """Settings from the environment file, overridden by the options the user gave."""
    config = environments.load(env, root)
    host, port = default_address(env, root)
    given = {k: v for k, v in options.items() if v is not None}
    given.setdefault("host", host)
    given.setdefault("port", port)
    given.setdefault("keep_warm", config.serving.keep_warm)
    rate = given.get("log_sample_rate", 1.0)
    if not 0 <= rate <= 1:
        raise MlopsError(f"--log-sample-rate = {rate}: must be between 0 and 1")
    return Settings(root=str(root), env=env, **given)


def prepare(settings: Settings) -> None:
    """A clean state folder for this server, and the environment its workers inherit."""
    shutil.rmtree(settings.run_dir, ignore_errors=True)
    prom = settings.run_dir / "prometheus"
    prom.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
    os.environ[ENV_VAR] = settings.to_env()
    # measured (benchmarks/README.md): OpenMP threads inside predict fight the request threads
    # and any other load on the machine; one thread per predict call is faster
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def run(settings: Settings) -> None:
    import uvicorn

    from mlops.data.restore import configure_remote

    configure_remote(Path(settings.root))  # $MLOPS_DVC_REMOTE, when set, as everywhere else
    prepare(settings)
    if not os.environ.get(TOKEN_ENV):
        print(f"serve: {TOKEN_ENV} is not set, so POST /-/sync is disabled", file=sys.stderr)
    print(
        f"serve: {settings.env} on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker(s), following {settings.ref} in {settings.root})"
        + (f"; gRPC on {settings.host}:{settings.grpc_port}" if settings.grpc_port else ""),
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        APP,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
