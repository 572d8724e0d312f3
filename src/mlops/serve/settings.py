"""What one server runs with. The CLI builds it once; worker processes read it from the
environment (uvicorn starts them fresh), so every worker runs with exactly the same settings."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ENV_VAR = "MLOPS_SERVE_SETTINGS"
TOKEN_ENV = "MLOPS_SYNC_TOKEN"
STATE_DIR = ".mlops"  # in the repository the server runs in; gitignored


@dataclass(frozen=True)
class Settings:
    root: str  # the repository clone the server runs in
    env: str
    host: str = "127.0.0.1"
    port: int = 8100
    ref: str = "origin/main"
    model: str | None = None  # None: the first model models.yaml declares
    sync_interval: float = 30.0
    log_dir: str = "logs/predictions"
    log_sample_rate: float = 1.0
    log_max_bytes: int = 50 * 2**20
    workers: int = 1
    keep_warm: int = 2
    max_batch_rows: int = 512
    max_body_bytes: int = 16 * 2**20  # larger bodies get 413 before they are read whole
    policy: bool = True  # apply a new desired state only when it passes `mlops check`
    grpc_port: int | None = None  # the Open Inference Protocol over gRPC; None: off

    # pinned mode (`mlops serve-pinned`, the image in KServe): one verified file, no Git
    pinned_file: str | None = None
    pinned_version: str | None = None
    pinned_digest: str | None = None
    pinned_threshold: float = 0.5

    @property
    def cache_dir(self) -> Path:
        """Verified model files, by digest; shared by every server of this clone."""
        return Path(self.root) / STATE_DIR / "models"

    @property
    def run_dir(self) -> Path:
        """This server's worker states, sync requests and metrics files."""
        return Path(self.root) / STATE_DIR / "serve" / f"{self.env}-{self.port}"

    @property
    def log_path(self) -> Path:
        path = Path(self.log_dir)
        return path if path.is_absolute() else Path(self.root) / path

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get(ENV_VAR)
        if not raw:
            raise RuntimeError(f"{ENV_VAR} is not set; start the server with `mlops serve`")
        return cls(**json.loads(raw))
