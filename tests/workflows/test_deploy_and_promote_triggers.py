"""deploy.yml's list of environments (an environment models.yaml declares nothing for is skipped
with a notice, so a new repository's merges do not fail) and promote.yml's `paths:` (every file
the desired state, its policy and the rendered manifests are made from)."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from mlops.formats import models_file
from mlops.formats.models_file import Deployment, Pin
from tests.conftest import ROOT, git

SCRIPT = ROOT / ".github" / "scripts" / "deploy-targets"
PROMOTE = ROOT / ".github" / "workflows" / "promote.yml"
DEPLOY = ROOT / ".github" / "workflows" / "deploy.yml"


def _targets(repo: Path, only: str = "", before: str = "") -> subprocess.CompletedProcess:
    out = repo.parent / "github-output"
    out.write_text("")
    env = {**os.environ, "GITHUB_OUTPUT": str(out)}
    proc = subprocess.run([sys.executable, str(SCRIPT), only, before], cwd=repo, env=env,
                          text=True, capture_output=True)  # fmt: skip
    proc.output = out.read_text()  # type: ignore[attr-defined]
    return proc


def _declare(repo: Path, env: str, deployment: Deployment | None) -> str:
    path = repo / "models.yaml"
    path.write_text(models_file.with_deployment(path.read_text(), env, deployment))
    git(repo, "commit", "-qam", f"models.yaml: {env}")
    return git(repo, "rev-parse", "HEAD")


def test_environments_that_declare_nothing_are_skipped_with_a_notice(template_clone):
    git(template_clone, "add", "-A")
    git(template_clone, "commit", "-qm", "the template: the model declared, nothing deployed")
    first = _targets(template_clone)
    assert first.returncode == 0, first.stderr
    assert first.output == "envs=[]\n"
    for env in ("production", "staging"):
        assert f"::notice title=deploy {env} skipped::models.yaml declares no model for {env}" in (
            first.stdout
        )
    assert yaml.safe_load(DEPLOY.read_text())["jobs"]["deploy"]["if"] == (
        "needs.register.outputs.envs != '[]'"  # an empty matrix fails a run on GitHub
    )

    pin = Pin("v1.0.0", "sha256:" + "a" * 64)
    before = _declare(template_clone, "staging", Deployment(pin))
    assert json.loads(_targets(template_clone).output.removeprefix("envs=")) == ["staging"]
    # removing an environment's last deployment still reaches its server (the state before)
    _declare(template_clone, "staging", None)
    assert _targets(template_clone, before=before).output == 'envs=["staging"]\n'
    assert _targets(template_clone, before="0" * 40).output == "envs=[]\n"  # a new branch
    assert _targets(template_clone, only="staging").output == "envs=[]\n"


def test_an_unknown_environment_is_refused_by_name(template_clone):
    proc = _targets(template_clone, only="prod")
    assert proc.returncode == 1
    assert "::error::no environments/prod.yaml; deploy one of: production, staging" in proc.stdout


def _promote_paths() -> list[str]:
    return yaml.safe_load(PROMOTE.read_text())[True]["pull_request"]["paths"]


def _triggers(path: str) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in _promote_paths())


def test_promote_runs_for_the_desired_state_its_policy_and_the_manifests():
    for path in ("models.yaml", "environments/production.yaml", "deploy/production/churn.yaml",
                 "deploy/argocd/production.yaml", "contract.yaml", ".dvc/config"):  # fmt: skip
        assert _triggers(path), path
    assert not _triggers("README.md") and not _triggers("src/mlops/serve/app.py")


def test_promote_runs_when_code_the_rendered_manifests_depend_on_changes():
    """Every module `mlops render` imports is in promote.yml's paths: a change to any of them
    can change deploy/ and must get `mlops check`."""
    code = (
        "import sys, mlops.kube.render\n"
        "for m in list(sys.modules.values()):\n"
        "    if m.__name__.startswith('mlops'): print(m.__file__)"
    )
    proc = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    files = [Path(f).resolve().relative_to(ROOT).as_posix() for f in proc.stdout.split()]
    assert "src/mlops/kube/render.py" in files
    assert [f for f in files if not _triggers(f)] == []
