"""Offline validation against vendored CRD schemas (KServe's InferenceService, Argo CD's
Application).

The JSON files in ``mlops/schemas/vendor/`` are each CRD's ``openAPIV3Schema`` with the
``x-kubernetes-*`` extensions and the ``description`` texts removed (JSON Schema ignores both;
without them the KServe schema fits in Git's large-file limit). Each file's ``$comment`` names its
source: repository, tag, commit and path. To update, fetch the CRD at a new tag and run
``python -m mlops.kube.schemas NAME CRD.yaml "SOURCE"``.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mlops.core.errors import MlopsError

SCHEMAS = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve-inferenceservice.json",
    ("argoproj.io/v1alpha1", "Application"): "argocd-application.json",
}


class ManifestError(MlopsError):
    """A rendered manifest does not validate against its CRD schema."""


def strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: strip(v)
            for k, v in node.items()
            if not k.startswith("x-kubernetes-") and k != "description"
        }
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def vendor(crd_text: str, source: str) -> dict:
    """The schema file's content for a CRD's YAML (its first served version)."""
    crd = yaml.load(crd_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    version = crd["spec"]["versions"][0]
    return {
        "$comment": f"{source}; openAPIV3Schema of {version['name']}, "
        "x-kubernetes-* and description removed",
        **strip(version["schema"]["openAPIV3Schema"]),
    }


@cache
def schema(api_version: str, kind: str) -> dict:
    name = SCHEMAS.get((api_version, kind))
    if name is None:
        raise ManifestError(f"no vendored schema for {kind} ({api_version})")
    return json.loads(resources.files("mlops.schemas").joinpath("vendor", name).read_text())


def pruned(node: Any, spec: dict, path: str = "") -> list[str]:
    """Fields the API server would drop without a word: a structural schema prunes every key an
    object's ``properties`` do not declare. (The vendored files lost the rare
    ``x-kubernetes-preserve-unknown-fields``, so this errs on the strict side; the object
    ``metadata`` is the API server's own and is checked by it.)"""
    where = path + "." if path else ""
    if isinstance(node, list):
        items = spec.get("items", {})
        return [p for i, v in enumerate(node) for p in pruned(v, items, f"{path}[{i}]")]
    if not isinstance(node, dict):
        return []
    declared = spec.get("properties")
    extra = spec.get("additionalProperties")
    found = []
    for key, value in node.items():
        if declared is not None and key in declared:
            if not (path == "" and key == "metadata"):
                found += pruned(value, declared[key], where + key)
        elif isinstance(extra, dict):
            found += pruned(value, extra, where + key)
        elif declared is not None:
            found.append(f"{where + key}: not in the schema (the API server would drop it)")
    return found


def problems(manifest: dict) -> list[str]:
    """Every schema violation of one manifest, as ``path: message``; [] when it is valid."""
    spec = schema(manifest["apiVersion"], manifest["kind"])
    validator = jsonschema.Draft7Validator(spec)
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    ] + pruned(manifest, spec)


def validate(manifest: dict, where: str) -> None:
    found = problems(manifest)
    if found:
        raise ManifestError(f"{where}: not a valid {manifest['kind']}: " + "; ".join(found[:5]))


if __name__ == "__main__":  # python -m mlops.kube.schemas NAME CRD.yaml SOURCE
    name, crd_path, source = sys.argv[1:4]
    out = Path(__file__).parents[1] / "schemas" / "vendor" / name
    out.write_text(json.dumps(vendor(Path(crd_path).read_text(), source), separators=(",", ":")))
    out.write_text(out.read_text() + "\n")
