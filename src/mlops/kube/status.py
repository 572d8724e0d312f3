"""`mlops status` and `mlops deploy` for a kserve target: Argo CD applies deploy/<env>/, so there
is no server to call; the live state is the InferenceService's, read with `kubectl` when it is
installed and configured, and "Unknown" with the reason when it is not.

Cost: there are no per-prediction counters to read from here, so the row gives what the rendered
predictor reserves instead: requested CPUs x minReplicas x ``cost.usd_per_cpu_hour``, per hour
(scale-up beyond minReplicas costs more; with minReplicas 0 an idle service costs nothing)."""

from __future__ import annotations

import json
import shutil
import subprocess

import yaml

from mlops.evaluation import cost
from mlops.formats import environments
from mlops.formats.models_file import Deployment, describe
from mlops.kube.render import app_path, env_dir

KUBECTL_TIMEOUT_S = 15


def is_kserve(config: environments.Environment) -> bool:
    return config.serving.target == "kserve"


def skip_in_deploy(config: environments.Environment, log) -> bool:
    """True (and says why) for a target that Argo CD deploys: the merge was the deploy."""
    if not is_kserve(config):
        return False
    log(
        f"{config.name}: serving.target is kserve: Argo CD syncs {env_dir(config.name)}/ from "
        f"Git ({app_path(config.name)}); nothing to call. `mlops status` reads the rollout"
    )
    return True


def live_pins(state: dict, model: str) -> tuple[dict | None, dict | None]:
    """(stable, canary) as the applied ``mlops-desired-state`` ConfigMap records them (the pins
    are kept off the InferenceService, whose annotations KServe copies onto each revision)."""
    pins = yaml.safe_load((state.get("data") or {}).get(model) or "null") or {}
    canary = pins.pop("canary", None)
    return (pins or None), canary


def _matches(desired: Deployment | None, stable: dict | None, canary: dict | None) -> bool:
    if desired is None:
        return stable is None
    want = desired.to_dict()
    want_canary = want.pop("canary", None)
    return stable == want and canary == want_canary


def _ready(isvc: dict) -> tuple[bool, str]:
    for condition in isvc.get("status", {}).get("conditions", []) or []:
        if condition.get("type") == "Ready":
            ok = condition.get("status") == "True"
            return ok, "" if ok else (condition.get("message") or condition.get("reason") or "")
    return False, "the InferenceService reports no Ready condition yet"


def _describe(stable: dict | None, canary: dict | None) -> str:
    if not stable:
        return "none"
    text = str(stable["version"])
    return text + (f" + canary {canary['version']} at {canary['traffic']}%" if canary else "")


def _unknown(row: dict, reason: str) -> dict:
    return {**row, "sync": "Unknown", "health": "Unknown", "reason": reason}


def _reserved(config: environments.Environment) -> float | None:
    kserve = config.serving.kserve
    cpus = kserve.requested_cpus()
    if cpus is None:
        return None
    return cost.reserved_usd_per_hour(cpus, kserve.replicas, config.usd_per_cpu_hour)


def env_status(name: str, config: environments.Environment, model: str,
               desired: Deployment | None) -> dict:  # fmt: skip
    namespace = config.serving.kserve.namespace
    row = {
        "env": name,
        "url": f"kserve://{namespace}/{model}",
        "desired": describe(desired),
        "live": None,
        "commit": None,
        "usd_per_1000": None,
        "usd_per_hour": _reserved(config),
    }
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return _unknown(
            row,
            "kubectl is not installed here, so the InferenceService cannot be "
            f"read; where it is: `kubectl get inferenceservice {model} -n {namespace}`",
        )
    found = {}
    for kind, name in (("inferenceservice", model), ("configmap", "mlops-desired-state")):
        args = [kubectl, "get", kind, name, "-n", namespace, "-o", "json"]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc = subprocess.CompletedProcess(args, 1, "", f"no answer in {KUBECTL_TIMEOUT_S}s")
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return _unknown(row, f"`kubectl get {kind} {name} -n {namespace}` failed: {detail}")
        found[kind] = json.loads(proc.stdout)
    isvc = found["inferenceservice"]
    stable, canary = live_pins(found["configmap"], model)
    ready, why = _ready(isvc)
    observed = isvc.get("status", {}).get("observedGeneration")
    current = observed is None or observed == isvc.get("metadata", {}).get("generation")
    synced = _matches(desired, stable, canary) and current
    return {
        **row,
        "live": _describe(stable, canary),
        "sync": "Synced" if synced else "OutOfSync",
        "health": "Healthy" if ready else "Degraded",
        "reason": why or ("" if synced else "Argo CD has not applied models.yaml at HEAD yet"),
    }
