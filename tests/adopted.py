"""A template copy that adopted one of ``tests.adopt.tables``' tables (one per task), reproduced,
pushed, registered as v1.0.0, with a bare ``origin``: what a team has after `mlops data adopt`,
`dvc repro`, commit and `mlops register`. Shared by the serving, monitoring and report tests."""

from __future__ import annotations

import json
from pathlib import Path

from mlops.formats import models_file
from mlops.formats.contract import load_contract
from mlops.model import registry
from tests.adopt import tables
from tests.conftest import (
    dvc,
    git,
    mlops,
    new_clone,
    private_copy,  # noqa: F401 (tests import it here)
    quick_params,
)

TASKS = ("binary", "multiclass", "regression")
# table, `mlops data adopt` options
ADOPT = {
    "binary": (tables.binary, ["--target", "bought", "--segment", "country"]),
    "multiclass": (tables.multiclass, ["--target", "grade"]),
    "regression": (
        tables.regression,
        ["--target", "price", "--segment", "city", "--name", "house-prices"],
    ),
}


def adopted_repo(base: Path, task: str, rows: int = 600) -> Path:
    """``base/repo`` (workspace), ``base/remote`` (DVC), ``base/origin.git``; v1.0.0 tagged."""
    repo = new_clone(base / "repo", base / "remote")
    table = base / f"{task}.csv"
    make, options = ADOPT[task]
    make(rows).to_csv(table, index=False)
    mlops(repo, "data", "adopt", str(table), *options)
    quick_params(repo)
    dvc(repo, "repro")
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"adopt {table.name}")
    tag(repo, "v1.0.0")
    git(base, "clone", "-q", "--bare", str(repo), "origin.git")
    git(repo, "remote", "add", "origin", str(base / "origin.git"))
    git(repo, "fetch", "-q", "origin")
    git(repo, "branch", "-q", "--set-upstream-to=origin/main")
    return repo


def tag(repo: Path, version: str) -> None:
    """Register the workspace's model as ``version`` (what `mlops register` does)."""
    model = load_contract(repo).model
    message = json.dumps(registry.workspace_metadata(repo), sort_keys=True)
    git(repo, "tag", "-a", registry.tag_name(model, version), "-m", message)


def deploy(repo: Path, env: str, version: str) -> None:
    """Pin ``version`` as ``env``'s stable in models.yaml, commit and push it."""
    model = load_contract(repo).model
    pin = models_file.Pin(version, registry.get_version(repo, model, version).digest)
    path = repo / "models.yaml"
    path.write_text(models_file.with_deployment(path.read_text(), env, models_file.Deployment(pin)))
    git(repo, "commit", "-qm", f"deploy {env}: {version}", "--", "models.yaml")
    git(repo, "push", "-q", "origin", "HEAD:main")
