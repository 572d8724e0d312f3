"""Every promotion command and option has help text; the workflows validate against GitHub's
schema and chain without relying on GITHUB_TOKEN pushes starting other workflows."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer
import yaml

from mlops.cli import app
from tests.conftest import ROOT, run

COMMANDS = ("register", "versions", "promote", "rollback", "check", "deploy", "status", "audit")
WORKFLOWS = ROOT / ".github" / "workflows"


def test_every_command_and_option_has_help():
    group = typer.main.get_command(app)
    for name in COMMANDS:
        command = group.commands[name]
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"mlops {name} {param.opts}"


def test_workflows_validate_offline():
    files = [str(WORKFLOWS / f"{n}.yml") for n in ("register", "promote", "deploy")]
    checker = str(Path(sys.executable).with_name("check-jsonschema"))
    run([checker, "--builtin-schema", "vendor.github-workflows", *files], ROOT)


def test_workflows_least_privilege_timeouts_and_chain():
    flows = {
        n: yaml.safe_load((WORKFLOWS / f"{n}.yml").read_text())
        for n in ("register", "promote", "deploy")
    }
    for name, flow in flows.items():
        assert "write-all" not in str(flow.get("permissions")), name
        for job in flow["jobs"].values():
            assert job["timeout-minutes"] <= 30, name
    assert flows["promote"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    deploy = flows["deploy"]
    assert deploy["permissions"] == {"contents": "read"}
    assert deploy["jobs"]["deploy"]["concurrency"]["group"] == "deploy-${{ matrix.env }}"
    # the deploy registers itself: a tag pushed by register.yml with GITHUB_TOKEN starts nothing
    assert "mlops register" in str(deploy["jobs"]["register"]["steps"])
    assert (
        deploy["jobs"]["register"]["concurrency"]["group"]
        == flows["register"]["concurrency"]["group"]
    )
    on = deploy[True]  # PyYAML reads the key `on` as True
    assert on["push"]["paths"] == ["models.yaml"] and "workflow_dispatch" in on
