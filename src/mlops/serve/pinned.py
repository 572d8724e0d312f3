"""Pinned mode: serve one verified model file with no Git and no DVC (the image in KServe).

KServe's storage initializer puts the file the InferenceService names (by its DVC content
address) under /mnt/models; `mlops render` passes the expected version, sha256 and decision
threshold as environment variables. The file is checked against the sha256 before it is
loaded (skops allow-list), warmed up and checked like any version the GitOps controller loads.
Everything after that is the same server: request validation, batching, metrics, the prediction
log, ``/predict`` and the Open Inference Protocol. A file that is missing, has another digest or
fails to load leaves the server unready (``/v2/health/ready`` 503), so KServe keeps the
previous revision serving.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops.core.errors import MlopsError
from mlops.model import model_io
from mlops.serve.controller import Status
from mlops.serve.coordination import DEGRADED, OUT_OF_SYNC, SYNCED
from mlops.serve.loading import (
    ReconcileError,
    check_model,
    model_contract,
    sample_records,
    with_predictor,
)
from mlops.serve.predlog_writer import PredictionLog
from mlops.serve.routing import LoadedModel, Routing
from mlops.serve.settings import Settings

PINNED_REF = "pinned"
STDOUT = "-"


class PinnedController:
    """The controller's interface (``routing``, ``status``, ``view``, ``reconcile``) for a model
    that never changes while the process lives: KServe rolls out a new revision instead."""

    def __init__(self, settings: Settings, on_change: Callable[[], None] = lambda: None):
        self.settings = settings
        self.routing: Routing | None = None
        self.status = Status(OUT_OF_SYNC, "starting: loading the pinned model file")
        self.deployed_nothing = ""
        self.reconciles = 0
        self.done_generation = 0
        self._on_change = on_change

    def loaded_versions(self) -> list[str]:
        return [self.routing.stable.version] if self.routing else []

    def warm_models(self) -> list[LoadedModel]:
        return [self.routing.stable] if self.routing else []

    def view(self) -> dict[str, Any]:
        routing = self.routing
        stable = None
        if routing is not None:
            stable = {"version": routing.stable.version, "digest": routing.stable.digest}
        return {
            "env": self.settings.env,
            "commit": None,
            "stable": stable,
            "canary": None,  # KServe splits traffic between revisions, each pinned
            "sync": self.status.sync,
            "reason": self.status.reason,
            "desired_commit": None,
            "ref": PINNED_REF,
            "mode": "pinned",
            "loaded": self.loaded_versions(),
            "generation": self.done_generation,
            "reconciles": self.reconciles,
            "pid": os.getpid(),
        }

    def reconcile(self, generation: int | None = None) -> Status:
        gen = self.status.generation if generation is None else generation
        if self.routing is None:
            try:
                self.routing = Routing(PINNED_REF, self._load())
                self.status = Status(SYNCED, "", generation=gen, synced_at=time.time())
            except Exception as exc:  # every fault is a reason, never a crash
                reason = str(exc)
                if not isinstance(exc, MlopsError):
                    reason = f"{self.settings.pinned_file}: {type(exc).__name__}: {exc}"
                self.status = Status(DEGRADED, reason, generation=gen, synced_at=time.time())
        else:
            self.status = dataclasses.replace(self.status, generation=gen)
        self.reconciles += 1
        self.done_generation = gen
        self._on_change()
        return self.status

    def _load(self) -> LoadedModel:
        s = self.settings
        path = Path(s.pinned_file)
        if not path.is_file():
            raise ReconcileError(
                f"{path}: the pinned model file is not there; KServe's storage initializer "
                "puts it there when the container has STORAGE_URI (see `mlops render`)"
            )
        t0 = time.perf_counter()
        estimator = model_io.load(path, expected_digest=s.pinned_digest)
        carried = model_io.threshold_of(estimator)  # the artifact's own, else the setting's
        threshold = s.pinned_threshold if carried is None else carried
        loaded = LoadedModel(s.model or "model", s.pinned_version, s.pinned_digest, estimator,
                             threshold=threshold,
                             contract=model_contract(estimator, s.pinned_version))  # fmt: skip
        sample = sample_records(loaded.contract)
        loaded = with_predictor(loaded, sample, f"pinned {s.pinned_version}")
        check_model(loaded, sample)  # warm-up; a failure is the Degraded reason
        return dataclasses.replace(loaded, load_seconds=round(time.perf_counter() - t0, 3))


class StdoutPredictionLog(PredictionLog):
    """The prediction log as JSON lines on stdout (``--log-dir -``), for the cluster's log
    collector; same records, same sampling, no files."""

    def __init__(self, env: str, sample_rate: float):
        super().__init__(Path(os.devnull), env, sample_rate, max_bytes=0)

    def start(self) -> None:
        if self.sample_rate > 0:
            self._thread.start()

    def _write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def prediction_log(settings: Settings, hygiene: dict[str, Any]) -> PredictionLog:
    """The log to a folder (with ``hygiene``: personal columns hashed, retention), or to stdout
    for the cluster's log collector."""
    if settings.log_dir == STDOUT:
        return StdoutPredictionLog(settings.env, settings.log_sample_rate)
    return PredictionLog(
        settings.log_path,
        settings.env,
        settings.log_sample_rate,
        settings.log_max_bytes,
        **hygiene,
    )


def controller_for(settings: Settings, git_controller: type, on_change: Callable[[], None]):
    """The GitOps controller, or the pinned one when the settings pin a file."""
    cls = PinnedController if settings.pinned_file else git_controller
    return cls(settings, on_change=on_change)
