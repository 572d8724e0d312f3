"""Every promotion command and option has help text; the workflows validate against GitHub's
schema and chain without relying on GITHUB_TOKEN pushes starting other workflows."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer
import yaml

from mlops.cli import app
from tests.conftest import ROOT, git, run

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
        assert flow["permissions"] == {}, name  # each job asks for its own
        for job in flow["jobs"].values():
            assert job["timeout-minutes"] <= 30, name
            assert "write-all" not in str(job["permissions"]), name
    check = flows["promote"]["jobs"]["check"]
    assert check["permissions"] == {"contents": "read"}  # the PR's code: no write token
    assert flows["promote"]["jobs"]["comment"]["permissions"] == {"pull-requests": "write"}
    deploy = flows["deploy"]
    assert deploy["jobs"]["deploy"]["permissions"] == {"contents": "read"}
    assert deploy["jobs"]["deploy"]["concurrency"]["group"] == "deploy-${{ matrix.env }}"
    # the deploy registers itself (a tag pushed by register.yml with GITHUB_TOKEN starts
    # nothing), with the same action as register.yml, in no concurrency group: a group shared
    # with register.yml would let a later push cancel it while pending, and skip the deploy
    register_action = "./.github/actions/register"
    assert register_action in str(deploy["jobs"]["register"]["steps"])
    assert register_action in str(flows["register"]["jobs"]["register"]["steps"])
    assert "concurrency" not in deploy["jobs"]["register"] and "concurrency" not in deploy
    on = deploy[True]  # PyYAML reads the key `on` as True
    assert on["push"]["paths"] == ["models.yaml"] and "workflow_dispatch" in on


def _steps(flow: str, job: str) -> dict[str, str]:
    data = yaml.safe_load((WORKFLOWS / f"{flow}.yml").read_text())
    return {s["name"]: s["run"] for s in data["jobs"][job]["steps"] if "run" in s and "name" in s}


def _bash(script: str, cwd: Path, env: dict) -> None:
    run(["bash", "-eo", "pipefail", "-c", script], cwd, env=env)


CHECK_STEP = "Check the PR's models.yaml with the base's code and write the promotion plan"


def test_promote_workflow_steps_post_the_plan_and_fail_on_a_bad_promotion(promo, tmp_path):
    from mlops.promotion import promote

    recorded = tmp_path / "cml-comments"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "cml").write_text(
        f'#!/bin/bash\necho "$@" >> {recorded}.args\ncat "${{@: -1}}" >> {recorded}\n'
    )
    (fake / "cml").chmod(0o755)
    outputs = tmp_path / "outputs"
    env = {"PATH": f"{fake}:{Path(sys.executable).parent}:/usr/bin:/bin", "BASE_REF": "main"}
    env["GITHUB_OUTPUT"] = str(outputs)
    # the base's checkout and the pull request's are one folder here: the step's commands only
    env |= {"GITHUB_WORKSPACE": str(promo), "PR_DIR": str(promo)}
    steps = _steps("promote", "check")
    promote.promote(promo, "staging", "v1.0.0")
    _bash(steps[CHECK_STEP], promo, env)
    assert outputs.read_text().split() == ["failed=0", "planned=yes"]
    plan = {"PLAN": str(promo / "reports/pr/promotion-plan.md"), "HEAD_SHA": "0" * 40}
    _bash(_steps("promote", "comment")["Post the plan on the pull request"], promo, env | plan)
    assert "comment update --target=pr --publish" in Path(f"{recorded}.args").read_text()
    assert "staging | promotion | none | v1.0.0" in recorded.read_text()

    (promo / "models.yaml").write_text((promo / "models.yaml").read_text().replace("staging", "qa"))
    _bash(steps[CHECK_STEP], promo, env)
    assert outputs.read_text().split()[-2:] == ["failed=1", "planned=yes"]
    assert "unknown environment 'qa'" in (promo / "reports/pr/promotion-plan.md").read_text()


def test_register_workflow_step_is_idempotent(promo, tmp_path):
    from tests.workflows.workflow_harness import run_action

    summary = tmp_path / "summary.md"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    job = run_action("./.github/actions/register", {}, promo, {"github.token": ""}, env)
    assert job.succeeded and "nothing to register" in job.steps[0].output, job.log()
    _bash(_steps("register", "register")["Versions"], promo, env)
    assert "v1.1.0" in summary.read_text()
    assert git(promo, "tag", "--list").split() == ["churn-model@v1.0.0", "churn-model@v1.1.0"]
