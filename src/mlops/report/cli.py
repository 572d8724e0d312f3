"""`mlops report` and `mlops gate`: thin wrappers over ``mlops.report`` and
``mlops.quality.gates``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mlops.core import paths


def report(
    base: str = typer.Option(..., "--base", help="Git revision to compare with, e.g. origin/main."),
    out: Path = typer.Option(
        Path(paths.PR_REPORT), "--out", help="Markdown file to write; the PNG plots go next to it."
    ),
) -> None:
    """Write the PR comment: metrics, gates, slices, params, data drift, cost and plots vs BASE."""
    from mlops.report.collect import build

    path, data = build(".", base, out)
    verdict = ", ".join(f"{v.env} {'pass' if v.passed else 'FAIL'}" for v in data.verdicts)
    typer.echo(f"report: wrote {path} ({data.seconds:.1f} s); gates: {verdict}")


def gate(
    env: list[str] = typer.Option(
        None, "--env", help="Environment to check (repeatable); default: all of environments/."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Check the workspace's results against environments/ENV.yaml gates; exit 1 on a failure."""
    from mlops.report.gate import check_workspace, render_failures

    verdicts = check_workspace(".", env or None)
    if as_json:
        typer.echo(json.dumps([v.to_dict() for v in verdicts], indent=2))
    else:
        typer.echo(render_failures(verdicts))
    if not all(v.passed for v in verdicts):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("gate")(gate)
