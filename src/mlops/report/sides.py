"""The two sides a report compares: the base revision (read from Git) and the workspace.

Base results are Git-tracked files (``cache: false`` in dvc.yaml), read with ``git show REV:path``:
no checkout and no remote pull.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops.core import paths, tools
from mlops.core.errors import ConfigError, NotFoundError
from mlops.formats import params

# The Git-tracked results each side may hold; a missing one is reported, not fatal.
RESULT_FILES = {
    "metrics": paths.METRICS,
    "slices": paths.SLICES,
    "serving": paths.SERVING,
    "validation": paths.VALIDATION,
    "baselines": paths.BASELINES,
}
CURVES = ("roc", "precision_recall", "confusion")


@dataclass
class Side:
    label: str  # "base (main @ 1a2b3c4)" or "this change"
    commit: str | None
    results: dict[str, Any] = field(default_factory=dict)  # name -> parsed JSON
    curves: dict[str, list[dict]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] | None = None
    data_md5: str | None = None
    missing: list[str] = field(default_factory=list)  # human lines: what is absent and why

    def get(self, name: str) -> Any:
        return self.results.get(name)


def resolve(root: Path, rev: str) -> str:
    """The commit ``rev`` names; a clear error when it names nothing."""
    proc = tools.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=root, check=False
    )
    if proc.returncode != 0:
        raise NotFoundError(
            f"--base {rev!r}: no such Git revision in {root}; fetch it first "
            "(`git fetch origin main`, or check out with full history: fetch-depth: 0)"
        )
    return proc.stdout.strip()


def _show(root: Path, commit: str, path: str) -> str | None:
    proc = tools.run(["git", "show", f"{commit}:{path}"], cwd=root, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _data_md5(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return yaml.safe_load(text)["outs"][0]["md5"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def _json(text: str | None, where: str, missing: list[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        missing.append(f"`{where}` is not valid JSON")
        return None


def base_side(root: Path, rev: str) -> Side:
    commit = resolve(root, rev)
    side = Side(f"base ({rev} @ {commit[:7]})", commit)
    for name, path in RESULT_FILES.items():
        text = _show(root, commit, path)
        if text is None:
            side.missing.append(
                f"`{path}` does not exist at {rev}: the base was never "
                "evaluated (first pipeline run?)"
            )
        side.results[name] = _json(text, f"{rev}:{path}", side.missing)
    for name in CURVES:
        data = _json(_show(root, commit, f"{paths.PLOTS}/{name}.json"), f"{rev}:{name}", [])
        if data is not None:
            side.curves[name] = data
    text = _show(root, commit, params.PARAMS_FILE)
    if text is not None:
        side.params = _base_params(text, rev)
    side.data_md5 = _data_md5(_show(root, commit, paths.DATA_DVC))
    return side


def _base_params(text: str, rev: str) -> dict | None:
    # The base's params are shown as they are; a base that does not match today's SPEC
    # (an older template) is compared raw rather than refused.
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return raw if isinstance(raw, dict) else None


def workspace_side(root: Path) -> Side:
    side = Side("this change", _head(root))
    for name, path in RESULT_FILES.items():
        file = root / path
        if not file.is_file():
            side.missing.append(f"`{path}` is missing in the workspace: run `dvc repro` first")
            continue
        side.results[name] = _json(file.read_text(), path, side.missing)
    for name in CURVES:
        file = root / paths.PLOTS / f"{name}.json"
        if file.is_file():
            side.curves[name] = json.loads(file.read_text())
    # The workspace's params are validated: a wrong type stops the report with a clear error.
    side.params = params.load(root / params.PARAMS_FILE)
    dvc_file = root / paths.DATA_DVC
    side.data_md5 = _data_md5(dvc_file.read_text()) if dvc_file.is_file() else None
    return side


def _head(root: Path) -> str | None:
    proc = tools.run(["git", "rev-parse", "HEAD"], cwd=root, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def require_workspace_results(side: Side) -> None:
    if side.get("metrics") is None:
        raise ConfigError(
            paths.METRICS,
            "",
            "no metrics in the workspace",
            hint="run `dvc repro` (or `make demo`) before `mlops report`",
        )
