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

The canary maps to ``canaryTrafficPercent`` against what the manifests at the base ref roll out
(``mlops.kube.isvc``: a revert renders ``canaryTrafficPercent: 0``, so traffic goes back at once).
``problems`` (run by `mlops check`) refuses a canary KServe would not serve as models.yaml says,
naming the file. Output is deterministic: the same inputs and base give the same bytes.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops.core import paths, tools
from mlops.core.errors import ConfigError, MlopsError
from mlops.formats import environments, models_file
from mlops.formats.models_file import Deployment
from mlops.kube import isvc, schemas
from mlops.model import registry

DEPLOY = "deploy"
ANNOTATION = "mlops"  # label prefix: mlops/environment
STATE = "desired-state.yaml"  # the ConfigMap with the pins, beside the InferenceServices
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


def inference_service(root: Path, config: environments.Environment, model: str,
                      dep: Deployment, base: str | None) -> Manifest:  # fmt: skip
    kserve = config.serving.kserve
    isvc.check_mode(config, dep)
    spec, traffic = isvc.rollout(dep, isvc.deployed(root, base, env_dir(config.name), model))
    version = registry.get_version(root, model, spec.version)
    storage = storage_base(root, config)
    md5 = version.metadata.get("md5") or ""
    predictor: dict[str, Any] = {}
    if not storage.startswith("pvc://"):  # an object store's keys; a PVC needs no account
        predictor["serviceAccountName"] = kserve.service_account
    predictor.update(minReplicas=kserve.replicas, maxReplicas=kserve.max_replicas)
    if traffic is not None:
        predictor["canaryTrafficPercent"] = traffic
    predictor["containers"] = [
        isvc.container(model, config.name, spec, version, storage_uri(storage, md5), kserve)
    ]
    body = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": model,
            "namespace": kserve.namespace,
            "labels": _labels(model, config.name),
            "annotations": {"serving.kserve.io/deploymentMode": kserve.deployment_mode},
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
    return Manifest(f"{env_dir(config.name)}/{STATE}", body)


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


def manifests(root: Path, config: environments.Environment, state: models_file.ModelsFile,
              base: str | None = None) -> list[Manifest]:  # fmt: skip
    """Every file of one kserve environment, validated against the vendored schemas; ``base``
    is the ref whose manifests are deployed (None: nothing is)."""
    out = [
        inference_service(root, config, model, envs[config.name], base)
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


def default_base(root: str | Path) -> str | None:
    """The deployed state: origin/main, else main, else HEAD; None in a repository with no
    commit."""
    base = tools.default_base(root)
    proc = tools.run(["git", "rev-parse", "--verify", "--quiet", base], cwd=root, check=False)
    return base if proc.returncode == 0 else None


def expected(root: str | Path, env: str | None = None,
             base: str | None = None) -> dict[str, str | None]:  # fmt: skip
    """path -> text every owned file should have (None: it should not exist), rolling out from
    what ``base`` deploys (default: ``default_base``)."""
    root = Path(root)
    base = base or default_base(root)
    files: dict[str, str | None] = {}
    state = None  # read only when some environment is a kserve target
    for name in targets(root, env):
        config = environments.load(name, root)
        owned = [*(root / env_dir(name)).glob("*.yaml"), root / app_path(name)]
        files.update({str(p.relative_to(root)): None for p in owned if p.is_file()})
        if config.serving.target == "kserve":
            state = state or models_file.load(root / paths.MODELS_FILE)
            files.update({m.path: m.text() for m in manifests(root, config, state, base)})
    return files


def write(root: str | Path = ".", env: str | None = None, base: str | None = None) -> list[str]:
    """Render into deploy/; returns the paths that changed (written or removed)."""
    root = Path(root)
    changed = []
    for rel, text in sorted(expected(root, env, base).items()):
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


def stale(root: str | Path = ".", base: str | None = None) -> list[str]:
    """One line per file of deploy/ that differs from what `mlops render` would write."""
    root = Path(root)
    try:
        files = expected(root, base=base)
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
    """The version KServe last rolled out at 100 % as of ``rev``: the stable of the desired
    state committed there (a canary, or a rolled-back canary, keeps its stable rolled out)."""
    before = isvc.deployed(root, rev, env_dir(env), model)
    return before.stable if before else None


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
    found = stale(root, base)
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
    report.sections.extend(f"> **warning**: {w}" for w in warnings(root))


def warnings(root: str | Path, env: str | None = None) -> list[str]:
    """The template's placeholder values in the kserve targets (an image or repository that
    does not exist: the cluster could never pull or sync it)."""
    out = []
    for name in targets(root, env):
        config = environments.load(name, Path(root))
        if config.serving.target == "kserve":
            out += isvc.placeholders(config)
    return out
