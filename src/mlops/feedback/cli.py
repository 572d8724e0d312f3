"""`mlops outcomes ingest`, `mlops performance` and `mlops logs prune`: thin wrappers."""

from __future__ import annotations

import json
from pathlib import Path

import typer

outcomes_app = typer.Typer(
    help="Outcomes: the true labels of served predictions, stored per environment (DVC).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the feedback commands to the `mlops` app."""
    app.add_typer(outcomes_app, name="outcomes")


@outcomes_app.command("ingest")
def ingest(
    file: Path = typer.Argument(
        ..., help="CSV or Parquet: request_id, the target, optionally row."
    ),
    env: str = typer.Option(..., "--env", help="Environment whose predictions these resolve."),
    store: Path = typer.Option(
        None, help="Outcome folder, relative to the repository (default outcomes/)."
    ),
    dvc: bool = typer.Option(
        True, "--dvc/--no-dvc", help="Run `dvc add` on the outcome folder (default)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check FILE against contract.yaml and store it under outcomes/ENV/ (nothing on failure).

    Exit 0: stored; 1: the file failed the checks (every problem listed); 2: other errors.
    """
    from mlops.feedback import outcomes

    done = outcomes.ingest(".", file, env, store=store, dvc_add=dvc)
    if as_json:
        typer.echo(json.dumps({"env": done.env, "path": str(done.path), "rows": done.rows,
                               "dvc_file": done.dvc_file}))  # fmt: skip
        return
    typer.echo(f"stored {done.rows:,} outcome(s) for {done.env} in {done.path}")
    if done.dvc_file:
        typer.echo(f"then: git add {done.dvc_file} .gitignore && git commit && dvc push")
