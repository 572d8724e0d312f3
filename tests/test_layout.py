"""The template's contracts: dvc.yaml matches the code, and every command has help."""

import re
import sys
from pathlib import Path

import click
import pytest
import typer.main
import yaml

from mlops.cli import app
from mlops.core import paths
from mlops.formats import params
from tests.conftest import BIN, mlops, run

ROOT = Path(__file__).resolve().parents[1]
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _outputs(stage):
    for kind in ("outs", "metrics", "plots"):
        for item in stage.get(kind, []):
            yield next(iter(item)) if isinstance(item, dict) else item


def _own_params(stage: dict, name: str) -> list[str]:
    return [p for p in stage["params"] if isinstance(p, str) and p.split(".")[0] == name]


def test_every_stage_lists_its_module_and_exact_params():
    for name, stage in DVC.items():
        assert f"src/mlops/stages/{name}.py" in stage["deps"]
        assert stage["cmd"] == f"python -m mlops.stages.{name}"
        if name in params.SPEC:
            own = _own_params(stage, name)
            assert own == [name] or sorted(own) == sorted(f"{name}.{k}" for k in params.SPEC[name])


def test_stages_that_read_the_data_name_the_contracts_table():
    for name in ("validate", "split"):
        assert "${data}" in DVC[name]["deps"]
        assert any(isinstance(p, dict) and "contract.yaml" in p for p in DVC[name]["params"])


def test_dvc_yaml_paths_match_the_code():
    declared = {p for s in DVC.values() for p in [*s["deps"], *_outputs(s)]}
    for const in (
        "TRAIN",
        "HOLDOUT",
        "MODEL",
        "PREDICTIONS",
        "VALIDATION",
        "METRICS",
        "SLICES",
        "SERVING",
        "VALIDATION_SPLIT",
        "ROW_IDS",
        "BASELINES",
        "FIGURES",
        "PLOTS",
    ):
        assert getattr(paths, const) in declared, const


def _walk(command: click.Command, prefix=""):
    yield prefix or "mlops", command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, f"{prefix or 'mlops'} {name}")


def test_every_command_and_option_has_help():
    for name, command in _walk(typer.main.get_command(app)):
        assert command.help or command.short_help, f"{name} has no help"
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"{name} {param.opts} has no help"


@pytest.mark.parametrize("entry", ["python -m mlops", "mlops"])
def test_python_dash_m_and_help_work(tmp_path, entry):
    """The entry points themselves, in a new interpreter (other tests run commands in-process)."""
    command = [sys.executable, "-m", "mlops"] if entry != "mlops" else [str(Path(BIN) / "mlops")]
    out = run([*command, "--help"], tmp_path).stdout
    assert re.search(r"data\b", out) and "demo" in out


def test_user_mistake_is_one_line_not_a_traceback(tmp_path):
    proc = mlops(tmp_path, "data", "restore", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")


def test_the_package_root_holds_only_the_entry_points():
    """Every other module lives in the package named after its concern (docs/architecture.md),
    so a newcomer finds it by folder; the import contracts in pyproject.toml hold the layers."""
    root = ROOT / "src" / "mlops"
    modules = sorted(p.name for p in root.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "cli.py"], modules
