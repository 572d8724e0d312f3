"""`mlops render`: models.yaml + environments/<env>.yaml -> deploy/<env>/ and deploy/argocd/.

For each environment whose ``serving.target`` is ``kserve``:

- ``deploy/<env>/<model>.yaml``: a KServe ``InferenceService`` whose predictor is this project's
  image in pinned mode (``mlops serve-pinned``), serving exactly the pinned version. KServe's
  storage initializer fetches the model file from the DVC remote by its content address
  (``STORAGE_URI`` = ``<remote>/files/md5/<ab>/<cdef...>``) into ``/mnt/models``; the container
  checks its sha256 before loading it. A local-folder remote (the demo's) is read from a
  PersistentVolumeClaim holding it: ``pvc://<serving.kserve.remote_pvc>/files/md5/<ab>``,
  mounted as ``/mnt/models``.
- ``deploy/<env>/desired-state.yaml``: a ConfigMap with the pinned versions (the folder is never
  empty, so Argo CD can prune an InferenceService that models.yaml stops deploying).
- ``deploy/argocd/<env>.yaml``: the Argo CD ``Application`` that syncs ``deploy/<env>/`` from the
  main branch (automated sync, prune, self-heal).

The canary maps to ``canaryTrafficPercent``. KServe splits traffic between the *last revision
rolled out at 100 %* and the *latest spec*, so a models.yaml state ``stable A + canary B at N %``
renders as a predictor serving B with ``canaryTrafficPercent: N``: correct only when A is what
was rolled out before. ``problems`` (run by `mlops check`) refuses any other state, naming the
file. Output is deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops import environments, models_file, paths, registry, tools
from mlops.errors import ConfigError, MlopsError
from mlops.kube import schemas
from mlops.models_file import Deployment, Pin

DEPLOY = "deploy"
PORT = 8080
MODEL_DIR = "/mnt/models"  # where KServe's storage initializer puts STORAGE_URI's object
ANNOTATION = "mlops"  # annotation prefix: mlops/stable-version, mlops/canary-traffic, ...
_CLUSTER_SCHEMES = ("s3://", "gs://", "azure://", "https://", "http://", "hdfs://", "pvc://")


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the ConfigMap's pins) as literal blocks, so a diff reads line by line."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


@dataclass(frozen=True)
class Manifest:
    path: str  # relative to the repository root
    body: dict[str, Any]

    def text(self) -> str:
        header = (
            "# Rendered by `mlops render` from models.yaml and environments/: do not edit.\n"
            "# `mlops check` fails when it is stale; re-render and commit it with the change.\n"
        )
        return header + yaml.dump(self.body, Dumper=_Dumper, sort_keys=False, width=4096)


def env_dir(env: str) -> str:
    return f"{DEPLOY}/{env}"


def app_path(env: str) -> str:
    return f"{DEPLOY}/argocd/{env}.yaml"


# --- the DVC remote as the cluster reads it --------------------------------------------------


def committed_remote_url(root: Path) -> str | None:
    """The default remote's URL in the committed .dvc/config (never config.local: render must
    give the same bytes on every machine)."""
    parser = configparser.ConfigParser()
    parser.read(root / ".dvc" / "config")
    name = parser.get("core", "remote", fallback=None)
    section = f"'remote \"{name}\"'" if name else None
    return parser.get(section, "url", fallback=None) if section else None


def _is_local(url: str) -> bool:
    """A DVC remote that is a folder on this machine (DVC writes it as a plain path)."""
    return bool(url) and "://" not in url


def storage_base(root: Path, env: environments.Environment) -> str:
    """The DVC remote as the cluster reads it: ``serving.kserve.storage_uri`` when set; else the
    committed remote's URL when the cluster can read it (s3://, gs://, azure://, ...); else, for
    a local-folder remote, ``pvc://<serving.kserve.remote_pvc>``: the claim must hold the
    remote folder's content (see ``storage_note``)."""
    kserve = env.serving.kserve
    url = kserve.storage_uri or committed_remote_url(root) or ""
    if not kserve.storage_uri and _is_local(url):
        return f"pvc://{kserve.remote_pvc.rstrip('/')}"
    if not url.startswith(_CLUSTER_SCHEMES):
        raise ConfigError(
            env.source,
            "serving.kserve.storage_uri",
            f"the DVC remote {url or '(none)'!r} in .dvc/config is not a URL the cluster can read",
            hint="set serving.kserve.storage_uri to the remote as the cluster sees it, "
            "e.g. s3://my-bucket/dvc",
        )
    return url.rstrip("/")


def storage_uri(base: str, md5: str) -> str:
    """Where KServe's storage initializer finds one file of a DVC 3 remote (content address
    files/md5/<2 chars>/<30 chars>). Either way the container reads
    ``/mnt/models/<30 chars>``: an object store's file is downloaded into /mnt/models, while a
    pvc:// path is mounted *as* /mnt/models (a volume subPath, so it names the folder)."""
    folder = f"{base}/files/md5/{md5[:2]}"
    return folder if base.startswith("pvc://") else f"{folder}/{md5[2:]}"


def storage_note(root: str | Path, env: str) -> str | None:
    """One line for `mlops render` when ``env`` reads a local-folder remote through a PVC."""
    root = Path(root)
    config = environments.load(env, root)
    if config.serving.target != "kserve" or config.serving.kserve.storage_uri:
        return None
    url = committed_remote_url(root) or ""
    if not _is_local(url):
        return None  # the cluster reads the object store itself, with the service account's keys
    claim = config.serving.kserve.remote_pvc
    return (
        f"{env}: the DVC remote is the local folder {url!r}, so the InferenceService reads it "
        f"from the PersistentVolumeClaim pvc://{claim} (serving.kserve.remote_pvc), which must "
        "hold that folder's content in the cluster; an S3, GCS or Azure remote needs no PVC"
    )


# --- the manifests ---------------------------------------------------------------------------


def _labels(model: str, env: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": model,
        "app.kubernetes.io/managed-by": "mlops",
        f"{ANNOTATION}/environment": env,
    }


def _annotations(dep: Deployment) -> dict[str, str]:
    out = {
        "serving.kserve.io/deploymentMode": "Serverless",  # canary rollout needs Knative
        f"{ANNOTATION}/stable-version": dep.stable.version,
        f"{ANNOTATION}/stable-digest": dep.stable.digest,
    }
    if dep.canary:
        out[f"{ANNOTATION}/canary-version"] = dep.canary.version
        out[f"{ANNOTATION}/canary-digest"] = dep.canary.digest
        out[f"{ANNOTATION}/canary-traffic"] = str(dep.canary.traffic)
    return out


def _container(model: str, env: str, pin: Pin, version: registry.Version, base: str, image: str,
               resources: dict) -> dict[str, Any]:  # fmt: skip
    md5 = version.metadata.get("md5") or ""
    if not md5:
        raise MlopsError(f"{version.tag}: its tag records no DVC md5; re-register it")
    from mlops.thresholds import of_metadata

    threshold = of_metadata(version.metadata)
    env_vars = {
        "STORAGE_URI": storage_uri(base, md5),  # KServe's storage initializer downloads it
        "MLOPS_ENV": env,
        "MLOPS_MODEL_NAME": model,
        "MLOPS_MODEL_VERSION": pin.version,
        "MLOPS_MODEL_DIGEST": pin.digest,
        "MLOPS_MODEL_FILE": f"{MODEL_DIR}/{md5[2:]}",
        "MLOPS_MODEL_THRESHOLD": str(threshold),
        "MLOPS_LOG_DIR": "-",  # the prediction log on stdout, for the cluster's log collector
    }
    return {
        "name": "kserve-container",
        "image": image,
        "command": ["mlops", "serve-pinned", "--host", "0.0.0.0", "--port", str(PORT)],
        "env": [{"name": k, "value": v} for k, v in env_vars.items()],
        "ports": [{"containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": PORT}},
        "resources": resources,
    }


def inference_service(root: Path, config: environments.Environment, model: str,
                      dep: Deployment) -> Manifest:  # fmt: skip
    kserve = config.serving.kserve
    latest = dep.canary or dep.stable  # the spec KServe rolls out (see the module docstring)
    version = registry.get_version(root, model, latest.version)
    predictor: dict[str, Any] = {
        "serviceAccountName": kserve.service_account,
        "minReplicas": kserve.replicas,
        "maxReplicas": kserve.max_replicas,
    }
    if dep.canary:
        predictor["canaryTrafficPercent"] = dep.canary.traffic
    predictor["containers"] = [
        _container(model, config.name, latest, version, storage_base(root, config),
                   kserve.image, kserve.resources)
    ]  # fmt: skip
    body = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": model,
            "namespace": kserve.namespace,
            "labels": _labels(model, config.name),
            "annotations": _annotations(dep),
        },
        "spec": {"predictor": predictor},
    }
    return Manifest(f"{env_dir(config.name)}/{model}.yaml", body)


def desired_state(config: environments.Environment, state: models_file.ModelsFile) -> Manifest:
    data = {
        model: yaml.safe_dump(envs[config.name].to_dict(), sort_keys=False)
        for model, envs in state.models.items()
        if config.name in envs
    }
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "mlops-desired-state",
            "namespace": config.serving.kserve.namespace,
            "labels": {"app.kubernetes.io/managed-by": "mlops"},
        },
        "data": data,
    }
    return Manifest(f"{env_dir(config.name)}/desired-state.yaml", body)


def application(config: environments.Environment) -> Manifest:
    kserve = config.serving.kserve
    body = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"mlops-{config.name}",
            "namespace": kserve.argocd_namespace,
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": kserve.project,
            "source": {
                "repoURL": kserve.repo_url,
                "targetRevision": kserve.revision,
                "path": env_dir(config.name),
            },
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": kserve.namespace,
            },
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }
    return Manifest(app_path(config.name), body)


def manifests(root: Path, config: environments.Environment,
              state: models_file.ModelsFile) -> list[Manifest]:  # fmt: skip
    """Every file of one kserve environment, validated against the vendored schemas."""
    out = [
        inference_service(root, config, model, envs[config.name])
        for model, envs in state.models.items()
        if config.name in envs
    ]
    out += [desired_state(config, state), application(config)]
    for manifest in out:
        if manifest.body["kind"] != "ConfigMap":
            schemas.validate(manifest.body, manifest.path)
    return out


# --- the files in the working tree ----------------------------------------------------------


def targets(root: str | Path, env: str | None = None) -> list[str]:
    """The environments `mlops render` looks at: ``env``, or every one."""
    return [env] if env else environments.names(Path(root))


def expected(root: str | Path, env: str | None = None) -> dict[str, str | None]:
    """path -> text every owned file should have (None: it should not exist)."""
    root = Path(root)
    files: dict[str, str | None] = {}
    state = None  # read only when some environment is a kserve target
    for name in targets(root, env):
        config = environments.load(name, root)
        owned = [*(root / env_dir(name)).glob("*.yaml"), root / app_path(name)]
        files.update({str(p.relative_to(root)): None for p in owned if p.is_file()})
        if config.serving.target == "kserve":
            state = state or models_file.load(root / paths.MODELS_FILE)
            files.update({m.path: m.text() for m in manifests(root, config, state)})
    return files


def write(root: str | Path = ".", env: str | None = None) -> list[str]:
    """Render into deploy/; returns the paths that changed (written or removed)."""
    root = Path(root)
    changed = []
    for rel, text in sorted(expected(root, env).items()):
        path = root / rel
        if text is None:
            path.unlink()
        elif not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        else:
            continue
        changed.append(rel)
    return changed


def stale(root: str | Path = ".") -> list[str]:
    """One line per file of deploy/ that differs from what `mlops render` would write."""
    root = Path(root)
    try:
        files = expected(root)
    except MlopsError as exc:
        return [f"{DEPLOY}/: cannot render the manifests: {exc}"]
    out = []
    for rel, text in sorted(files.items()):
        path = root / rel
        if text is None:
            out.append(
                f"{rel}: no longer rendered (not a kserve target, or no such model there); "
                "run `mlops render` and commit the removal"
            )
        elif not path.is_file():
            out.append(f"{rel}: missing; run `mlops render` and commit {DEPLOY}/")
        elif path.read_text() != text:
            out.append(
                f"{rel}: stale against models.yaml and environments/; "
                f"run `mlops render` and commit {DEPLOY}/ with the change"
            )
    return out


def rolled_out(root: Path, rev: str, env: str, model: str) -> str | None:
    """The version KServe last rolled out at 100 % as of ``rev``: the stable of the manifest
    committed there (a canary manifest keeps its stable as the rolled-out revision)."""
    proc = tools.run(["git", "show", f"{rev}:{env_dir(env)}/{model}.yaml"], cwd=root, check=False)
    if proc.returncode != 0:
        return None
    body = yaml.safe_load(proc.stdout) or {}
    return body.get("metadata", {}).get("annotations", {}).get(f"{ANNOTATION}/stable-version")


SHADOW_REFUSED = (
    "models.yaml: models.{model}.{env}.shadow: KServe's InferenceService cannot score a second "
    "model on a copy of the requests (it splits traffic, it does not mirror it), so {env} "
    "(serving.target: kserve) cannot run a shadow; drop the shadow, or run it where "
    "serving.target is local (`mlops serve` scores shadows off the answer's path)"
)


def canary_problems(root: str | Path, base: str) -> list[str]:
    """Canaries KServe would not serve as models.yaml says (see the module docstring)."""
    root = Path(root)
    state = models_file.load(root / paths.MODELS_FILE)
    out = []
    for model, envs in state.models.items():
        for env, dep in envs.items():
            if (dep.canary is None and dep.shadow is None) or env not in environments.names(root):
                continue
            if environments.load(env, root).serving.target != "kserve":
                continue
            if dep.shadow is not None:
                out.append(SHADOW_REFUSED.format(model=model, env=env))
            if dep.canary is None:
                continue
            live = rolled_out(root, base, env, model)
            if live != dep.stable.version:
                out.append(
                    f"{env_dir(env)}/{model}.yaml: KServe splits a canary between the revision "
                    f"last rolled out at 100 % ({live or 'none yet'} at {base}) and the latest "
                    f"spec, but models.yaml says stable {dep.stable.version}; promote "
                    f"{dep.stable.version} fully (no canary) first, then start the canary"
                )
    return out


def problems(root: str | Path, base: str) -> list[str]:
    """What `mlops check` adds for deploy/: stale files and canaries KServe cannot express."""
    found = stale(root)
    return found + ([] if found else canary_problems(root, base))


def plan_section(root: str | Path, base: str, max_lines: int = 80) -> list[str]:
    """The promotion plan's view of deploy/: the diff of the rendered manifests against base."""
    proc = tools.run(["git", "diff", "--no-color", base, "--", DEPLOY], cwd=root, check=False)
    diff = proc.stdout.strip().splitlines() if proc.returncode == 0 else []
    if not diff:
        return []
    shown = diff[:max_lines] + ([f"... ({len(diff) - max_lines} more lines)"] if len(diff) >
                                max_lines else [])  # fmt: skip
    return ["", f"### Manifests ({DEPLOY}/, synced by Argo CD on merge)", "", "```diff", *shown,
            "```"]  # fmt: skip


def add_to_check(report, root: str | Path) -> None:
    """`mlops check`'s part for deploy/: failures for stale files and inexpressible canaries,
    and the manifest diff in the promotion plan."""
    report.failures.extend(problems(root, report.base))
    report.sections.extend(plan_section(root, report.base))
