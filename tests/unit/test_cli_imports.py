"""The `mlops` command starts fast: building it, `--help` and the read-only Git commands never
import the model stack (scikit-learn, pandas, DVC, skops, numpy). Checked in a fresh interpreter
from the modules it loaded, not from a timing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import git

HEAVY = ("sklearn", "pandas", "dvc", "skops", "numpy", "scipy", "evidently", "fastapi")

LOADED = """
import json, sys
{body}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""


def _loaded(body: str, cwd=None) -> set[str]:
    code = LOADED.format(body=body)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, text=True, capture_output=True, check=True
    )
    return set(json.loads(proc.stdout.splitlines()[-1]))


def _imported_by_command(args: list[str], cwd) -> set[str]:
    """Top-level packages `python -m mlops ARGS` imported (from -X importtime)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlops", *args],
        cwd=cwd, text=True, capture_output=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split("|")[-1] for line in proc.stderr.splitlines() if "import time:" in line]
    return {row.strip().split(".")[0] for row in rows[1:]}  # rows[0] is the header


def test_building_every_command_imports_no_model_stack():
    loaded = _loaded("import typer.main, mlops.cli\ntyper.main.get_command(mlops.cli.app)")
    assert "mlops" in loaded and "typer" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_no_model_stack(tmp_path):
    imported = _imported_by_command(["--help"], tmp_path)
    assert "typer" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


# `check` with no candidate to score (the template's models.yaml against itself) judges no gate
# and replays nothing: no numpy either
@pytest.mark.parametrize("command", ["versions", "audit", "check"])
def test_read_only_git_commands_import_no_model_stack(template_clone, command):
    git(template_clone, "add", "-A")
    git(template_clone, "commit", "-qm", "the template")
    imported = _imported_by_command([command], template_clone)
    assert "mlops" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))
