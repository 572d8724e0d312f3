"""The models.yaml reference: every key of its JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from page import HEADER, ROOT, code, table

SCHEMA = ROOT / "src" / "mlops" / "schemas" / "models.schema.json"


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"].removeprefix("#/").split("/")
        target: Any = schema
        for part in ref:
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_keys(schema: dict, node: dict | None = None, path: str = "") -> Iterator[tuple]:
    """(key path, resolved node, required) for every key of the schema, depth first; a mapping
    of free names (``additionalProperties``) is shown as ``<name>``."""
    node = _resolve(schema, node if node is not None else schema)
    required = set(node.get("required", ()))
    for key, sub in node.get("properties", {}).items():
        sub_path = f"{path}.{key}" if path else key
        yield sub_path, _resolve(schema, sub), key in required
        yield from schema_keys(schema, sub, sub_path)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        placeholder = _placeholder(path)
        sub_path = f"{path}.{placeholder}" if path else placeholder
        yield sub_path, _resolve(schema, extra), False
        yield from schema_keys(schema, extra, sub_path)


def _placeholder(path: str) -> str:
    depth = path.count(".") + 1 if path else 0
    if path == "registered":
        return "<model>@<version>"
    return {1: "<model>", 2: "<environment>"}.get(depth, "<name>")


def _constraint(node: dict) -> str:
    bits = []
    if "pattern" in node:
        bits.append(f"pattern `{node['pattern']}`")
    if "minimum" in node or "maximum" in node:
        bits.append(f"{node.get('minimum', '-inf')} to {node.get('maximum', 'inf')}")
    if "minProperties" in node:
        bits.append(f"at least {node['minProperties']} key")
    names = node.get("propertyNames", {}).get("pattern")
    if names:
        bits.append(f"keys match `{names}`")
    return "; ".join(bits)


def models_yaml_page() -> str:
    schema = json.loads(SCHEMA.read_text())
    rows = [
        [code(path), node.get("type", ""), "yes" if req else "", _constraint(node),
         node.get("description", "")]
        for path, node, req in schema_keys(schema)
    ]  # fmt: skip
    return (
        HEADER.format(source="src/mlops/schemas/models.schema.json")
        + "# models.yaml\n\n"
        + f"{schema.get('title', '')}. {schema.get('description', '')}\n\n"
        + "Every command that reads models.yaml checks it against this schema first "
        "(`mlops check`, `mlops deploy`, the server), and `make lint` validates the committed "
        "file. Edit it through `mlops promote` and `mlops rollback`, in a pull request.\n\n"
        + table(["key", "type", "required", "constraint", "meaning"], rows)
        + "\nAn example (what `mlops promote production v1.3.0 --canary 10` writes):\n\n"
        "```yaml\n"
        "models:\n"
        "  churn-model:\n"
        "    production:\n"
        "      version: v1.2.0\n"
        "      digest: sha256:<64 hex>\n"
        "      canary: {version: v1.3.0, digest: 'sha256:<64 hex>', traffic: 10}\n"
        "registered:\n"
        "  churn-model@v1.3.0: {object: <40 hex>, commit: <40 hex>, digest: 'sha256:<64 hex>'}\n"
        "```\n"
    )
