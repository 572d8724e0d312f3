"""Promotion policy (gates, ``requires``, canary limits) is judged from the base branch.

A pull request must not loosen the rules it is judged by: `mlops check` applies the policy of
``environments/<env>.yaml`` at the base, and lists any change the pull request makes to it as a
policy change that needs its own review (CODEOWNERS covers ``environments/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlops.core import paths
from mlops.formats import environments
from mlops.formats.environments import Environment

# serving is policy too: its url is where `mlops deploy` sends the sync token
POLICY_KEYS = ("requires", "gates", "canary", "serving")


def config(root: str | Path, env: str, base: str, rev: str | None = None) -> Environment:
    """``env``'s policy at ``base``; an environment the change adds is judged by its own file
    (in the working tree, or at ``rev``)."""
    found = environments.load_at(env, base, root)
    if found is None and rev is not None:
        found = environments.load_at(env, rev, root)
    return found or environments.load(env, root)


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): node}


def _policy(raw: dict | None) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    return _flat({k: raw[k] for k in POLICY_KEYS if k in raw})


def _working_tree(root: Path, env: str) -> dict | None:
    path = root / paths.ENVIRONMENTS / f"{env}.yaml"
    return yaml.safe_load(path.read_text()) or {} if path.is_file() else None


def changes(root: str | Path, base: str, rev: str | None = None) -> list[str]:
    """Every change of policy the working tree (or commit ``rev``) makes against ``base``."""
    root = Path(root)
    lines = []
    now = environments.names_at(rev, root) if rev else environments.names(root)
    for env in sorted({*environments.names_at(base, root), *now}):
        before = environments.read_raw_at(env, base, root)
        after = environments.read_raw_at(env, rev, root) if rev else _working_tree(root, env)
        source = f"{paths.ENVIRONMENTS}/{env}.yaml"
        if before is None or after is None:
            lines.append(f"{source}: {'added' if before is None else 'deleted'}")
            continue
        old, new = _policy(before), _policy(after)
        for key in sorted({*old, *new}):
            if old.get(key) != new.get(key):
                lines.append(f"{source}: {key}: {old.get(key, 'unset')} → {new.get(key, 'unset')}")
    return lines
