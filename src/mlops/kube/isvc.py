"""The KServe ``InferenceService`` for one model of one environment, and how a models.yaml change
rolls out in it.

KServe (Serverless mode, on Knative) splits traffic between the revision last rolled out at
100 % and the latest spec, by ``canaryTrafficPercent``. So, against what is deployed (the
manifests at the base ref):

============================ =========================================================
models.yaml says             the predictor renders
============================ =========================================================
stable S                     S, no canaryTrafficPercent (rolled out at 100 % once ready)
stable S + canary C at N %   C with canaryTrafficPercent N (S must be what was rolled out)
stable S after a canary of C C with canaryTrafficPercent 0: every request goes back to S
(a revert, an abort)         at once, with no new revision (KServe's own rollback)
============================ =========================================================

The predictor's pod template (the Knative revision) holds only what changes the served model:
a traffic-only change (10 % -> 30 %) or a rollback leaves it byte-identical, so Knative makes
no new revision. The pins (versions, digests, traffic) live in the ``mlops-desired-state``
ConfigMap beside it, never in annotations KServe would copy onto the revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops.core import tools
from mlops.core.errors import ConfigError, MlopsError
from mlops.formats import environments
from mlops.formats.models_file import Deployment, Pin
from mlops.model import registry

PORT = 8080
GRPC_PORT = 8081  # the Open Inference Protocol over gRPC, in the pod (see `grpc_ports`)
MODEL_DIR = "/mnt/models"  # where KServe's storage initializer puts STORAGE_URI's object
SERVERLESS = "Serverless"
MODES = (SERVERLESS, "RawDeployment")
PLACEHOLDER = "your-org"  # in the defaults of serving.kserve.image and repo_url


@dataclass(frozen=True)
class Deployed:
    """What the manifests at the base ref roll out: the predictor's spec and its traffic."""

    spec: Pin
    traffic: int | None  # canaryTrafficPercent; None: the spec is rolled out at 100 %
    stable: str | None  # the version last rolled out at 100 % (the desired state's stable)


def _show(root: Path, rev: str, path: str) -> dict:
    proc = tools.run(["git", "show", f"{rev}:{path}"], cwd=root, check=False)
    return (yaml.safe_load(proc.stdout) or {}) if proc.returncode == 0 else {}


def deployed(root: Path, rev: str | None, folder: str, model: str) -> Deployed | None:
    """The rollout state of ``model`` in ``folder`` at ``rev`` (None: nothing rendered there)."""
    if rev is None:
        return None
    isvc = _show(root, rev, f"{folder}/{model}.yaml")
    predictor = isvc.get("spec", {}).get("predictor", {})
    containers = predictor.get("containers") or [{}]
    env = {e.get("name"): e.get("value") for e in containers[0].get("env", [])}
    if not env.get("MLOPS_MODEL_VERSION"):
        return None
    state = _show(root, rev, f"{folder}/desired-state.yaml").get("data", {}).get(model)
    stable = (yaml.safe_load(state) or {}).get("version") if state else None
    spec = Pin(env["MLOPS_MODEL_VERSION"], env.get("MLOPS_MODEL_DIGEST", ""))
    return Deployed(spec, predictor.get("canaryTrafficPercent"), stable)


def rollout(dep: Deployment, before: Deployed | None) -> tuple[Pin, int | None]:
    """The predictor's spec and canaryTrafficPercent for ``dep`` (see the module's table)."""
    if dep.canary:
        return Pin(dep.canary.version, dep.canary.digest), dep.canary.traffic
    if (
        before is not None
        and before.traffic is not None
        and before.spec.version != dep.stable.version
        and before.stable == dep.stable.version
    ):
        return before.spec, 0
    return dep.stable, None


def check_mode(config: environments.Environment, dep: Deployment) -> None:
    mode = config.serving.kserve.deployment_mode
    if dep.canary and mode != SERVERLESS:
        raise ConfigError(
            config.source,
            "serving.kserve.deployment_mode",
            f"{mode} cannot split traffic for a canary (canaryTrafficPercent needs Knative)",
            value=mode,
            hint="use Serverless, or promote without --canary",
        )


def placeholders(config: environments.Environment) -> list[str]:
    """Warnings for the template's placeholder values, which no cluster can pull or sync."""
    kserve = config.serving.kserve
    return [
        f"{config.source}: serving.kserve.{key} is the template's placeholder {value!r}; "
        f"set it to your own {what}"
        for key, value, what in (("image", kserve.image, "image"),
                                 ("repo_url", kserve.repo_url, "repository URL"))
        if PLACEHOLDER in value
    ]  # fmt: skip


def _probe(path: str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": PORT}}


def container(model: str, env: str, pin: Pin, version: registry.Version, storage: str,
              kserve: environments.KServe) -> dict[str, Any]:  # fmt: skip
    md5 = version.metadata.get("md5") or ""
    if not md5:
        raise MlopsError(f"{version.tag}: its tag records no DVC md5; re-register it")
    from mlops.model.thresholds import of_metadata

    threshold = of_metadata(version.metadata)  # for artifacts that do not carry their own
    env_vars = {
        "STORAGE_URI": storage,  # KServe's storage initializer downloads it
        "PROTOCOL": "v2",  # the Open Inference Protocol, for KServe and its clients
        "MLOPS_ENV": env,
        "MLOPS_MODEL_NAME": model,
        "MLOPS_MODEL_VERSION": pin.version,
        "MLOPS_MODEL_DIGEST": pin.digest,
        "MLOPS_MODEL_FILE": f"{MODEL_DIR}/{md5[2:]}",
        "MLOPS_MODEL_THRESHOLD": str(threshold),
        "MLOPS_LOG_DIR": "-",  # the prediction log on stdout, for the cluster's log collector
        "MLOPS_GRPC_PORT": str(GRPC_PORT),
    }
    return {
        "name": "kserve-container",
        "image": kserve.image,
        "command": ["mlops", "serve-pinned", "--host", "0.0.0.0", "--port", str(PORT)],
        "env": [{"name": k, "value": v} for k, v in env_vars.items()] + [HASH_KEY_ENV],
        "ports": grpc_ports(kserve.deployment_mode),
        "livenessProbe": _probe("/v2/health/live"),
        "readinessProbe": _probe("/v2/health/ready"),
        "resources": kserve.resources,
    }


# The key personal columns are hashed with in the prediction log (HMAC), from a Secret the
# cluster's operator creates; without it the server leaves those columns out and says so.
HASH_KEY_SECRET = "mlops-log-hash-key"
HASH_KEY_ENV = {
    "name": "MLOPS_LOG_HASH_KEY",
    "valueFrom": {"secretKeyRef": {"name": HASH_KEY_SECRET, "key": "key", "optional": True}},
}


def grpc_ports(mode: str) -> list[dict[str, Any]]:
    """Knative routes one port per revision (REST, named http1); RawDeployment exposes gRPC
    too, as the h2c port KServe's Service forwards."""
    ports = [{"name": "http1", "containerPort": PORT, "protocol": "TCP"}]
    if mode != SERVERLESS:
        ports.append({"name": "h2c", "containerPort": GRPC_PORT, "protocol": "TCP"})
    return ports
