"""The GitOps controller: reconcile the models this process has loaded to what Git says.

One reconcile: ``git fetch`` -> models.yaml at the ref -> for each pinned version (stable, canary):
resolve the tag, fetch the artifact through DVC (sha256 verified), load it with the skops
allow-list, warm it up and check its predictions on a fixed sample -> build a new ``Routing`` and
swap it in with one reference assignment. Any fault leaves the old routing serving and the state
``Degraded`` with the reason. Previously live versions stay loaded (``keep_warm``), so rolling
back is a pointer swap.

Before a new deployment is applied, it must pass `mlops check` against the applied state
(``approval``; off with ``--no-policy``), and every pinned tag must still be what models.yaml
recorded at its first promotion (``promotion.ledger``). Serve-time facts (threshold, contract,
classes, task) come from the digest-checked artifact, never from the tag text.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.core import tools
from mlops.core.errors import MlopsError
from mlops.formats import models_file
from mlops.formats.models_file import Deployment, Pin
from mlops.model import registry
from mlops.promotion import ledger
from mlops.serve.approval import Approval, PolicyRefused
from mlops.serve.coordination import DEGRADED, OUT_OF_SYNC, SYNCED, file_lock
from mlops.serve.loading import ReconcileError, inference_paths, load_model
from mlops.serve.routing import LoadedModel, Routing
from mlops.serve.settings import Settings

GIT_TIMEOUT_S = 60


@dataclass(frozen=True)
class Status:
    sync: str
    reason: str = ""
    commit: str = ""  # the commit whose models.yaml is applied
    desired_commit: str = ""  # the commit ``ref`` pointed at when last checked
    generation: int = 0  # the last sync request this process handled
    synced_at: float = 0.0


class Controller:
    def __init__(self, settings: Settings, on_change: Callable[[], None] = lambda: None):
        self.settings = settings
        self.root = Path(settings.root)
        self.routing: Routing | None = None  # read by requests; replaced, never mutated
        self.status = Status(OUT_OF_SYNC, "starting: the first sync has not finished")
        self.deployed_nothing = ""  # reason, when models.yaml deploys no model to this env
        self._warm: OrderedDict[str, LoadedModel] = OrderedDict()  # digest -> model, LRU
        self._lock = threading.Lock()
        self._on_change = on_change
        self.reconciles = 0  # finished reconciles; 0 until the first one ends
        self.done_generation = 0  # the last sync request whose reconcile has finished
        self.approval = Approval(self.root, settings.env) if settings.policy else None
        self._records: dict[str, dict[str, str]] = {}  # models.yaml's registered: at the ref

    # ---- the public face -------------------------------------------------------------
    def loaded_versions(self) -> list[str]:
        return [m.version for m in self._warm.values()]

    def warm_models(self) -> list[LoadedModel]:
        """Every version this process holds loaded: the live ones and those kept warm."""
        return list(self._warm.values())

    def view(self) -> dict[str, Any]:
        """This process's state in the deploy contract's shape (``GET /version``)."""
        routing = self.routing
        stable = canary = None
        if routing is not None:
            stable = {"version": routing.stable.version, "digest": routing.stable.digest}
            if routing.canary is not None:
                canary = {
                    "version": routing.canary.version,
                    "digest": routing.canary.digest,
                    "traffic": routing.traffic,
                }
        status = self.status
        return {
            "env": self.settings.env,
            "commit": status.commit,
            "stable": stable,
            "canary": canary,
            "shadow": _shadow_view(routing),
            "sync": status.sync,
            "reason": status.reason,
            "desired_commit": status.desired_commit,
            "ref": self.settings.ref,
            "loaded": self.loaded_versions(),
            "inference": inference_paths(routing),
            "generation": self.done_generation,
            "reconciles": self.reconciles,
            "pid": os.getpid(),
        }

    def reconcile(self, generation: int | None = None) -> Status:
        """Make the loaded state match Git; never raises, never interrupts serving."""
        with self._lock, file_lock(self.settings.run_dir / "reconcile.lock"):
            gen = self.status.generation if generation is None else generation
            try:
                self._reconcile(gen)
            except Exception as exc:  # every fault is a reason, never a crash
                reason = str(exc) if isinstance(exc, MlopsError) else f"{type(exc).__name__}: {exc}"
                self._set(DEGRADED, reason, gen)
            self.reconciles += 1
            self.done_generation = gen
            self._on_change()
            return self.status

    # ---- the steps ---------------------------------------------------------------------
    def _reconcile(self, gen: int) -> None:
        fetch_error = self._fetch()
        commit = self._resolve_ref()
        deployment = self._desired(commit)
        self._set_desired(commit, gen)
        self._verify_tags(deployment)
        changes = self._changes(deployment)
        if changes and self.approval is not None:
            self._approve(commit, gen)
        if deployment is None:
            self._apply_nothing()
        elif changes:
            self._set(OUT_OF_SYNC, f"loading the state of {commit[:10]}", gen, desired=commit)
            self._apply(deployment, commit)
        if self.approval is not None:
            self.approval.remember(commit)
        self.deployed_nothing = "" if deployment else self.deployed_nothing
        if fetch_error:  # what the local ref knows was applied; the remote may hold more
            self._set(DEGRADED, fetch_error, gen, commit=commit)
        else:
            self._set(SYNCED, self.deployed_nothing, gen, commit=commit)

    def _approve(self, commit: str, gen: int) -> None:
        """Raise unless the state at ``commit`` passed the policy. A server that serves
        nothing yet (it just restarted) first applies the state it approved last, so it keeps
        serving that."""
        try:
            self.approval.require(commit, self.status.commit, self._serving(), gen)
        except PolicyRefused:
            approved = self.approval.recorded()
            if self.routing is None and approved and not self.status.commit:
                deployment = self._desired(approved)
                if deployment is not None:
                    self._apply(deployment, approved)
                self._set(OUT_OF_SYNC, "", gen, commit=approved)
            raise

    def _fetch(self) -> str:
        """``git fetch`` the remote the ref lives on; the error text, or "" when it worked."""
        remote = self._remote()
        if remote is None:
            return ""
        proc = subprocess.run(
            ["git", "fetch", "--quiet", "--tags", "--force", remote],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        if proc.returncode == 0:
            return ""
        url = tools.git("remote", "get-url", remote, cwd=self.root, check=False)
        return (
            f"git fetch {remote} failed: {tools.first_line(proc.stderr)} ({remote} is {url}); "
            "still serving the last state applied"
        )

    def _remote(self) -> str | None:
        remotes = tools.git("remote", cwd=self.root).split()
        head = self.settings.ref.split("/", 1)[0]
        if head in remotes:
            return head
        return "origin" if "origin" in remotes else None

    def _resolve_ref(self) -> str:
        proc = tools.run(
            ["git", "rev-parse", "--verify", f"{self.settings.ref}^{{commit}}"],
            cwd=self.root,
            check=False,
        )
        if proc.returncode != 0:
            raise ReconcileError(
                f"ref {self.settings.ref!r} does not exist in {self.root}; "
                "push the branch or pass --ref"
            )
        return proc.stdout.strip()

    def _desired(self, commit: str) -> Deployment | None:
        models = models_file.load_at(commit, self.root)
        model = self.settings.model or (models.model_names or [None])[0]
        if model is None or model not in models.models:
            raise ReconcileError(f"models.yaml at {commit[:10]} declares no model {model or ''}")
        deployment = models.deployment(self.settings.env, model)
        if deployment is None:
            self.deployed_nothing = (
                f"models.yaml at {commit[:10]} deploys no version of {model} to "
                f"{self.settings.env}; `mlops promote {self.settings.env} vX.Y.Z` adds one"
            )
        self._model = model
        self._records = models.registered
        return deployment

    def _serving(self) -> str:
        routing = self.routing
        if routing is None:
            return "nothing"
        canary = f" + canary {routing.canary.version}" if routing.canary is not None else ""
        return routing.stable.version + canary

    def _verify_tags(self, deployment: Deployment | None) -> None:
        """Every pinned tag is still what models.yaml recorded at its first promotion; else
        Degraded naming it (what is loaded keeps serving: its digest was checked)."""
        for pin in [deployment.stable, deployment.canary] if deployment else []:
            if pin is not None:
                self._registered(pin)

    def _changes(self, deployment: Deployment | None) -> bool:
        """Applying ``deployment`` would change what this server serves."""
        return self.routing is not None if deployment is None else not self._matches(deployment)

    def _matches(self, deployment: Deployment) -> bool:
        routing = self.routing
        if routing is None:
            return False
        canary = deployment.canary
        live_canary = routing.canary
        same_stable = (routing.stable.version, routing.stable.digest) == (
            deployment.stable.version,
            deployment.stable.digest,
        )
        if not _same_shadow(routing, deployment.shadow):
            return False
        if canary is None or live_canary is None:
            return same_stable and canary is None and live_canary is None
        return same_stable and (live_canary.version, live_canary.digest, routing.traffic) == (
            canary.version,
            canary.digest,
            canary.traffic,
        )

    def _apply(self, deployment: Deployment, commit: str) -> None:
        stable = self._ensure(deployment.stable)
        canary = self._ensure(deployment.canary) if deployment.canary else None
        traffic = deployment.canary.traffic if deployment.canary else 0
        shadow = self._ensure(deployment.shadow) if deployment.shadow else None
        shadow_traffic = deployment.shadow.traffic if deployment.shadow else 0
        # the one atomic swap
        self.routing = Routing(commit, stable, canary, traffic, shadow, shadow_traffic)
        self._remember(stable, canary, shadow)

    def _apply_nothing(self) -> None:
        if self.routing is not None:
            self.routing = None  # desired state: nothing served here
            self._remember()

    def _ensure(self, pin: Pin) -> LoadedModel:
        """The pinned version, loaded and checked: from the warm set, or fetched now. Every
        label is resolved to its registered tag first: a warm model with the same digest is
        never served under a label that is not registered with that digest."""
        version = self._registered(pin)
        warm = self._warm.get(pin.digest)
        if warm is not None:
            same = warm.version == pin.version
            return warm if same else dataclasses.replace(warm, version=pin.version)
        return load_model(self.root, self._model, pin, version, self.settings.cache_dir)

    def _registered(self, pin: Pin) -> registry.Version:
        version = registry.get_version(self.root, self._model, pin.version)
        recorded = self._records.get(version.tag)
        problem = ledger.drift(version.tag, recorded, version) if recorded else None
        if problem:
            raise ReconcileError(problem)
        if version.digest != pin.digest:
            raise ReconcileError(
                f"{version.tag}: models.yaml pins {pin.digest} but the tag records "
                f"{version.digest or 'no digest'}; re-run `mlops promote` to pin the right digest"
            )
        return version

    def _remember(self, *active: LoadedModel | None) -> None:
        """Keep the live versions plus ``keep_warm`` previously live ones, most recent last."""
        for loaded in active:
            if loaded is not None:
                self._warm.pop(loaded.digest, None)
                self._warm[loaded.digest] = loaded
        live = {m.digest for m in active if m is not None}
        previous = [d for d in self._warm if d not in live]
        for digest in previous[: max(0, len(previous) - self.settings.keep_warm)]:
            del self._warm[digest]

    # ---- state ---------------------------------------------------------------------------
    def _set_desired(self, commit: str, gen: int) -> None:
        self.status = dataclasses.replace(self.status, desired_commit=commit, generation=gen)

    def _set(self, sync: str, reason: str, gen: int, commit: str | None = None, desired=None):
        current = self.status
        self.status = Status(
            sync,
            reason,
            current.commit if commit is None else commit,
            desired or current.desired_commit,
            gen,
            time.time(),
        )
        if sync == OUT_OF_SYNC:
            self._on_change()


def _shadow_view(routing: Routing | None) -> dict[str, Any] | None:
    shadow = routing.shadow if routing is not None else None
    if shadow is None:
        return None
    return {"version": shadow.version, "digest": shadow.digest, "traffic": routing.shadow_traffic}


def _same_shadow(routing: Routing, pin) -> bool:
    live = routing.shadow
    if pin is None or live is None:
        return pin is None and live is None
    return (live.version, live.digest, routing.shadow_traffic) == (
        pin.version, pin.digest, pin.traffic,
    )  # fmt: skip
