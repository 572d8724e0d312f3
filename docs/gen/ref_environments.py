"""The environments/*.yaml reference: every key `mlops.formats.environments` reads, with its
default and the comment on its dataclass field."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
from typing import Any

from page import HEADER, ROOT, code, table


def field_comments(cls: type) -> dict[str, str]:
    """A dataclass's field -> the comment on its line, else the comment lines just above it."""
    lines, _ = inspect.getsourcelines(cls)
    found = {}
    for node in ast.parse("".join(lines)).body[0].body:  # type: ignore[attr-defined]
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        row = node.lineno - 1
        text = lines[row]
        if "#" in text:
            found[node.target.id] = text.split("#", 1)[1].strip()
            continue
        above = []
        while row > 0 and lines[row - 1].strip().startswith("#"):
            row -= 1
            above.insert(0, lines[row].strip().lstrip("#").strip())
        if above:
            found[node.target.id] = " ".join(above)
    return found


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _shown(value: Any) -> str:
    if value is None or value == {} or value == ():
        return ""
    return code(json.dumps(value) if isinstance(value, dict) else value)


# --------------------------------------------------------------------- environments/*.yaml
# What the dataclass fields do not say: keys outside a section, and keys whose comment lives
# in the YAML files the template ships.
ENV_EXTRA = {
    "requires": "an environment a version must have been live in before it is promoted here "
    "(promotion order)",
    "cost.usd_per_cpu_hour": "dollars per CPU-hour: the PR report's serving budget, the model "
    "card and `mlops status`",
    "serving.target": "`local` (`mlops serve --env ENV`) or `kserve` (`mlops render`)",
    "serving.url": "where `mlops deploy` and `mlops status` reach the server (`local` target)",
    "serving.keep_warm": "previous versions kept loaded, so a rollback is a pointer swap",
    "serving.kserve": "the KServe InferenceService and Argo CD Application (target `kserve`)",
    "serving.kserve.namespace": "the Kubernetes namespace (default `mlops-<env>`)",
    "serving.kserve.image": "this repository's image (Dockerfile), run as `mlops serve-pinned`",
    "serving.kserve.max_replicas": "maxReplicas (default: replicas, at least 1)",
    "serving.kserve.resources": "the predictor's requests and limits (cpu, memory)",
    "serving.kserve.revision": "the branch Argo CD syncs",
    "serving.kserve.argocd_namespace": "where the Argo CD Application lives",
    "serving.kserve.project": "the Argo CD project",
    "gates.min": "metric -> minimum (maximum for rmse, mae, log_loss)",
    "gates.max_regression": "metric -> the largest drop allowed against the version live in "
    "this environment, on the same rows",
    "gates.max_slice_gap": "metric -> the largest gap between the best and the worst segment",
    "gates.max_latency_ms_p95": "in-process predict of 1 row, 95th percentile (evaluate stage)",
    "gates.max_model_mb": "the model file's size",
    "canary.max_traffic": "the largest canary share models.yaml may set (1-99)",
    "canary.abort_on": "budgets the canary must keep whatever the stable does (`p99_ms`)",
    "canary.min_effect": "comparison -> the smallest difference worth detecting, canary minus "
    "stable: `error_rate`, `live_error`, `prediction_shift`",
    "monitoring.min_outcomes": 'fewer labelled predictions than this: "not enough outcomes '
    'yet", no verdict',
    "monitoring.drift_share": "`mlops drift` reports dataset drift when the share of drifted "
    "feature columns reaches this",
    "replay.window": "`mlops check` replays a candidate on the requests logged in this window "
    "(a duration: 30m, 24h, 7d, 2w)",
}
ENV_SECTIONS = {  # YAML section -> the dataclass that holds it
    "serving": "Serving",
    "serving.kserve": "KServe",
    "gates": "Gates",
    "canary": "CanaryPolicy",
    "monitoring": "Monitoring",
    "replay": "Replay",
}


def environment_keys() -> list[tuple[str, str, str]]:
    """(key path, default, meaning) for every key ``mlops.formats.environments`` reads."""
    from mlops.formats import environments as envs

    rows = [("requires", "", ENV_EXTRA["requires"])]
    for section, name in ENV_SECTIONS.items():
        cls = getattr(envs, name)
        comments = field_comments(cls)
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            default = "" if key in ENV_SECTIONS else _shown(_default(f))
            meaning = ENV_EXTRA.get(key) or comments.get(f.name)
            if not meaning:
                raise SystemExit(f"docs/gen/reference.py: no description for {key}: add one")
            rows.append((key, default, meaning))
    cost = dataclasses.fields(envs.Environment)
    usd = next(f for f in cost if f.name == "usd_per_cpu_hour").default
    rows.append(("cost.usd_per_cpu_hour", code(usd), ENV_EXTRA["cost.usd_per_cpu_hour"]))
    return rows


def environments_page() -> str:
    from mlops.formats import environments as envs

    example = (ROOT / "environments" / "production.yaml").read_text()
    return (
        HEADER.format(source="src/mlops/formats/environments.py")
        + "# environments/*.yaml\n\n"
        + "One file per environment (`environments/staging.yaml`, `environments/production.yaml`"
        "): how it is served and guarded. Every command reads it through "
        "`mlops.formats.environments`; a malformed file is refused naming the file, the key and "
        "the value. The file name is the environment's name. Changes to these files are *policy "
        "changes*: `mlops check` applies the base branch's version and lists the change for "
        "its own review.\n\n"
        + table(["key", "default", "meaning"], [[code(k), d, m] for k, d, m in environment_keys()])
        + f"\nGate names for `gates.mode`: {', '.join(code(g) for g in envs.GATE_NAMES)}; "
        f"modes `{envs.ENFORCE}` (default) and `{envs.DRY_RUN}`. Serving targets: "
        f"{', '.join(code(t) for t in envs.TARGETS)}.\n\n"
        + "The template's `environments/production.yaml`:\n\n"
        + f"```yaml\n{example.rstrip()}\n```\n"
    )
