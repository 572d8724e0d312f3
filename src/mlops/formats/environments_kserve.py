"""``serving.kserve`` in environments/<env>.yaml: what `mlops render` needs for a KServe
InferenceService and an Argo CD Application, and its checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlops.core.errors import ConfigError
from mlops.formats.environments_parse import mapping_at, text_at

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CLAIM = re.compile(r"^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$")  # a PersistentVolumeClaim name


@dataclass(frozen=True)
class KServe:
    """``serving.kserve``: what `mlops render` needs for a KServe InferenceService and an Argo CD
    Application (see ``mlops.kube``). Defaults fit a first try on a small cluster."""

    namespace: str
    image: str = "ghcr.io/your-org/mlops-template:latest"
    replicas: int = 1  # minReplicas; 0 lets Knative scale to zero
    max_replicas: int = 1
    resources: dict = field(
        default_factory=lambda: {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        }
    )
    service_account: str = "mlops-storage"  # holds the DVC remote's credentials
    storage_uri: str | None = None  # the DVC remote as the cluster reads it; default .dvc/config
    # a local-folder DVC remote is read from this PersistentVolumeClaim (``claim`` or
    # ``claim/folder``), which must hold the remote folder's content; unused for s3://, gs://...
    remote_pvc: str = "dvc-remote"
    repo_url: str = "https://github.com/your-org/your-repo.git"  # what Argo CD syncs from
    revision: str = "main"
    argocd_namespace: str = "argocd"
    project: str = "default"
    # Serverless (Knative) splits canary traffic; RawDeployment cannot (no canary there)
    deployment_mode: str = "Serverless"

    def requested_cpus(self) -> float | None:
        """CPUs one predictor pod reserves: its request, else its limit (as Kubernetes does)."""
        amount = self.resources.get("requests", {}).get("cpu")
        amount = amount if amount is not None else self.resources.get("limits", {}).get("cpu")
        return None if amount is None else cpus(amount)


def cpus(quantity: str | int | float) -> float:
    """A Kubernetes CPU quantity in CPUs: ``500m`` -> 0.5, ``2`` -> 2.0 (ValueError if not one)."""
    text = str(quantity).strip()
    value = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    return value


def _check_cpus(amount: Any, source: str, key: str) -> None:
    try:
        cpus(amount)
    except ValueError:
        raise ConfigError(
            source, key, "must be CPUs (0.5, 2) or millicores (500m)", value=amount
        ) from None


def parse_kserve(raw: Any, env: str, source: str) -> KServe:
    where = "serving.kserve"
    raw = mapping_at(raw, source, where)
    known = set(KServe.__dataclass_fields__)
    for key in raw:
        if key not in known:
            raise ConfigError(
                source, f"{where}.{key}", "unknown key", hint=f"known: {', '.join(sorted(known))}"
            )
    namespace = text_at(raw, "namespace", f"mlops-{env}", source, where)
    if not _DNS_LABEL.match(namespace):
        raise ConfigError(
            source, f"{where}.namespace", "must be a Kubernetes name (a-z, 0-9, -)", value=namespace
        )
    replicas = raw.get("replicas", 1)
    max_replicas = raw.get("max_replicas", max(replicas, 1) if isinstance(replicas, int) else 1)
    for key, value in (("replicas", replicas), ("max_replicas", max_replicas)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(source, f"{where}.{key}", "must be a whole number >= 0", value=value)
    if max_replicas < max(replicas, 1):
        raise ConfigError(
            source, f"{where}.max_replicas", f"must be at least replicas ({replicas}) and 1",
            value=max_replicas,
        )  # fmt: skip
    resources = mapping_at(raw.get("resources"), source, f"{where}.resources") or None
    for part, amounts in (resources or {}).items():
        if part not in ("requests", "limits"):
            raise ConfigError(source, f"{where}.resources.{part}", "use requests and limits")
        for unit, amount in mapping_at(amounts, source, f"{where}.resources.{part}").items():
            if isinstance(amount, bool) or not isinstance(amount, (str, int, float)):
                raise ConfigError(
                    source, f"{where}.resources.{part}.{unit}", "must be a quantity (500m, 1Gi)",
                    value=amount,
                )  # fmt: skip
            if unit == "cpu":
                _check_cpus(amount, source, f"{where}.resources.{part}.cpu")
    given = {
        key: text_at(raw, key, getattr(KServe, key, None), source, where)
        for key in ("image", "service_account", "storage_uri", "remote_pvc", "repo_url",
                    "revision", "argocd_namespace", "project", "deployment_mode")
    }  # fmt: skip
    if given["deployment_mode"] not in ("Serverless", "RawDeployment"):
        raise ConfigError(
            source, f"{where}.deployment_mode", "must be Serverless or RawDeployment",
            value=given["deployment_mode"],
        )  # fmt: skip
    claim, _, folder = given["remote_pvc"].partition("/")
    odd_folder = bool(folder) and any(p in ("", ".", "..") for p in folder.split("/"))
    if not _CLAIM.match(claim) or odd_folder:
        raise ConfigError(
            source, f"{where}.remote_pvc", "must be a PersistentVolumeClaim name, optionally "
            "followed by /folder (e.g. dvc-remote or shared/dvc)", value=given["remote_pvc"],
        )  # fmt: skip
    extra = {"resources": resources} if resources else {}
    return KServe(namespace, replicas=replicas, max_replicas=max_replicas, **given, **extra)
