"""models.yaml: the one typed loader and the one editor of the desired deployed state.

Every command reads models.yaml through ``parse``/``load``/``load_at``; every edit goes through
``with_deployment``, which keeps comments and key order (ruamel round-trip).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mlops.core import paths
from mlops.core.errors import ConfigError


@dataclass(frozen=True)
class Pin:
    version: str
    digest: str


@dataclass(frozen=True)
class Canary(Pin):
    traffic: int


@dataclass(frozen=True)
class Shadow(Canary):
    """Scored on ``traffic`` percent of requests off the answer's path; never answers."""


@dataclass(frozen=True)
class Deployment:
    stable: Pin
    canary: Canary | None = None
    shadow: Shadow | None = None

    def to_dict(self) -> dict:
        out: dict = {"version": self.stable.version, "digest": self.stable.digest}
        for key, pin in (("canary", self.canary), ("shadow", self.shadow)):
            if pin:
                out[key] = {"version": pin.version, "digest": pin.digest, "traffic": pin.traffic}
        return out


def describe(dep: Deployment | None) -> str:
    """One line: the stable version, and the canary and shadow beside it."""
    if dep is None:
        return "none"
    text = dep.stable.version
    if dep.canary is not None:
        text += f" + canary {dep.canary.version} at {dep.canary.traffic}%"
    if dep.shadow is not None:
        text += f" + shadow {dep.shadow.version} on {dep.shadow.traffic}%"
    return text


@dataclass(frozen=True)
class ModelsFile:
    """model name -> environment -> Deployment (an environment absent = nothing deployed)."""

    models: dict[str, dict[str, Deployment]] = field(default_factory=dict)
    source: str = paths.MODELS_FILE
    # "<model>@vX.Y.Z" -> {object, commit, digest}: each promoted version as first registered
    registered: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def model_names(self) -> list[str]:
        return list(self.models)

    def default_model(self) -> str:
        return self.model_names[0]

    def deployment(self, env: str, model: str | None = None) -> Deployment | None:
        return self.models.get(model or self.default_model(), {}).get(env)

    def describe(self) -> str:
        """A human summary; says plainly when nothing is deployed yet."""
        lines = []
        for model, envs in self.models.items():
            if not envs:
                lines.append(f"{model}: declared, not deployed to any environment yet")
            for env, dep in envs.items():
                canary = (
                    f", canary {dep.canary.version} at {dep.canary.traffic}%" if dep.canary else ""
                )
                shadow = (
                    f", shadow {dep.shadow.version} on {dep.shadow.traffic}%" if dep.shadow else ""
                )
                lines.append(f"{model} in {env}: {dep.stable.version}{canary}{shadow}")
        return "\n".join(lines)


@cache
def json_schema() -> dict:
    text = resources.files("mlops.schemas").joinpath("models.schema.json").read_text()
    return json.loads(text)


def _yaml() -> YAML:
    y = YAML()  # round-trip: keeps comments, order and flow style
    y.preserve_quotes = True
    y.width = 4096  # never wrap a digest
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _inline_refs(node, defs: dict):
    """The schema with local ``$ref``s replaced by their definitions: same rules, and about
    3x faster to validate (no reference lookups), which `mlops audit` over history needs."""
    if isinstance(node, dict):
        if set(node) == {"$ref"} and node["$ref"].startswith("#/$defs/"):
            return _inline_refs(defs[node["$ref"].rsplit("/", 1)[1]], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    return jsonschema.Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


def _fast_load(text: str):
    """libyaml's safe loader: ~25x faster than the round-trip loader, for reading history."""
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise YAMLError(str(exc)) from exc


def _plain(node):
    """ruamel's commented containers -> plain dicts, for jsonschema and dataclasses."""
    return json.loads(json.dumps(node))


def _schema_error(source: str, error: jsonschema.ValidationError) -> ConfigError:
    key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    value = error.instance if not isinstance(error.instance, dict) else ...
    hint = "see src/mlops/schemas/models.schema.json"
    if error.validator == "pattern" and "version" in key:
        hint = "versions look like v1.2.0 (see `mlops versions`)"
    elif error.validator == "pattern" and "digest" in key:
        hint = "digests look like sha256:<64 hex>; `mlops promote` fills them in"
    elif (
        error.validator == "required"
        and isinstance(error.instance, dict)
        and ("canary" in error.instance or "shadow" in error.instance)
    ):
        hint = (
            "a canary or a shadow needs a stable version and digest beside it; promote a stable "
            "version first"
        )
    elif "traffic" in key and "shadow" in key:
        hint = "a shadow's traffic is a whole percent from 1 to 100"
    elif "traffic" in key:
        hint = "traffic is a whole percent from 1 to 99"
    return ConfigError(source, key, error.message, hint=hint, value=value)


def _deployment(raw: dict) -> Deployment:
    stable = Pin(raw["version"], raw["digest"])
    canary, shadow = raw.get("canary"), raw.get("shadow")
    return Deployment(
        stable,
        Canary(canary["version"], canary["digest"], canary["traffic"]) if canary else None,
        Shadow(shadow["version"], shadow["digest"], shadow["traffic"]) if shadow else None,
    )


def parse(text: str, source: str = paths.MODELS_FILE, fast: bool = False) -> ModelsFile:
    """Validate and type models.yaml text. ``fast`` reads with libyaml (for `mlops audit` over
    many historical versions); the default round-trip reader also refuses duplicate keys."""
    try:
        raw = _fast_load(text) if fast else _plain(_yaml().load(text))
    except YAMLError as exc:
        raise ConfigError(
            source,
            "",
            f"not valid YAML: {exc}".replace("\n", " "),
            hint="fix the syntax; `git diff models.yaml` shows what changed",
        ) from exc
    if raw is None:
        raise ConfigError(source, "", "file is empty", hint="it needs a top-level `models:` key")
    errors = sorted(
        _validator().iter_errors(raw),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    if errors:
        raise _schema_error(source, errors[0])
    models = {
        name: {env: _deployment(dep) for env, dep in (envs or {}).items()}
        for name, envs in raw["models"].items()
    }
    return ModelsFile(models=models, source=source, registered=dict(raw.get("registered") or {}))


def read_text(path: str | Path) -> str:
    """The file's text; bytes that are not UTF-8 are one clear error, not a traceback."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "", "file not found", hint="run from the repository root")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            path,
            "",
            f"byte {data[exc.start]:#04x} at offset {exc.start} is not UTF-8",
            hint="save the file as UTF-8",
        ) from exc


def load(path: str | Path = paths.MODELS_FILE) -> ModelsFile:
    return parse(read_text(path), str(path))


def load_at(rev: str, root: str | Path = ".") -> ModelsFile:
    """models.yaml as committed at ``rev`` (a commit, branch or tag)."""
    from mlops.core import tools

    proc = tools.run(["git", "show", f"{rev}:{paths.MODELS_FILE}"], cwd=root, check=False)
    if proc.returncode != 0:
        raise ConfigError(
            f"{rev}:{paths.MODELS_FILE}",
            "",
            "cannot read it from Git",
            hint=proc.stderr.strip().splitlines()[-1] if proc.stderr else "",
        )
    return parse(proc.stdout, f"{rev}:{paths.MODELS_FILE}")


def with_deployment(
    text: str, env: str, deployment: Deployment | None, model: str | None = None
) -> str:
    """Return models.yaml text with ``env`` set to ``deployment`` (None removes it).

    Comments, key order and untouched entries survive; the result is validated before it is
    returned, so the tool never writes a file its own loader would refuse.
    """
    y = _yaml()
    doc = y.load(text)
    models = doc["models"]
    name = model or next(iter(models))
    envs = models.get(name)
    if envs is None or not hasattr(envs, "keys"):
        models[name] = envs = type(models)()
    if hasattr(envs, "fa"):
        envs.fa.set_block_style()
    if deployment is None:
        envs.pop(env, None)
    elif env in envs:
        _update(envs[env], deployment.to_dict())
    else:
        envs[env] = deployment.to_dict()
    out = io.StringIO()
    y.dump(doc, out)
    parse(out.getvalue())
    return out.getvalue()


def _update(node, new: dict) -> None:
    """Update a mapping in place so its comments stay attached to the keys they describe."""
    for key in list(node):
        if key not in new:
            del node[key]
    for key, value in new.items():
        if isinstance(value, dict) and key in node and hasattr(node[key], "keys"):
            _update(node[key], value)
        else:
            node[key] = value
