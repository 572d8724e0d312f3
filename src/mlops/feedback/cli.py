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
    app.command("performance")(performance)
    app.add_typer(logs_app, name="logs")


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
    log_dir: Path = typer.Option(
        None,
        help="Prediction log folder the ids are checked against (default logs/predictions).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check FILE against contract.yaml and store it under outcomes/ENV/ (nothing on failure).
    request_id is read as text as written (00123 stays 00123). When ENV's prediction log is
    there, say how many outcomes match no logged prediction.

    Exit 0: stored; 1: the file failed the checks (every problem listed); 2: other errors.
    """
    from mlops.feedback import outcomes

    done = outcomes.ingest(".", file, env, store=store, dvc_add=dvc, log_dir=log_dir)
    count = done.join
    if as_json:
        joined = None if count is None else {"log": str(count.log), "joined": count.joined,
                                             "not_joined": count.not_joined,
                                             "examples": list(count.examples)}  # fmt: skip
        typer.echo(json.dumps({"env": done.env, "path": str(done.path), "rows": done.rows,
                               "dvc_file": done.dvc_file, "join": joined}))  # fmt: skip
        return
    typer.echo(f"stored {done.rows:,} outcome(s) for {done.env} in {done.path}")
    typer.echo(
        count.describe()
        if count is not None
        else f"no prediction log of {env} in {log_dir or 'logs/predictions'}: the join was not "
        "checked (pass --log-dir)"
    )
    if done.dvc_file:
        typer.echo(f"then: git add {done.dvc_file} .gitignore && git commit && dvc push")


def performance(
    env: str = typer.Option(..., "--env", help="Environment whose live predictions are judged."),
    since: str = typer.Option(
        None,
        help="Only predictions logged in the last 30m, 24h, 7d, 2w, or since an ISO time "
        "(2026-11-27T06:40Z).",
    ),
    log_dir: Path = typer.Option(
        None, help="Prediction log folder (default logs/predictions, as `mlops serve`)."
    ),
    store: Path = typer.Option(None, help="Outcome folder (default outcomes/)."),
    out_dir: Path = typer.Option(
        Path("reports/performance"),
        help="Where performance.md, performance.json and performance.html are written.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON result, not markdown."),
) -> None:
    """Live metrics from outcomes joined to the prediction log, per version and route.

    A bar is judged with the 95 % interval: a live figure worse than its bar fails only when
    its whole interval is; when the interval still reaches the bar it is "within noise" (shown
    with a warning, no failure). --json: each metric's verdict (ok, within_noise, below).

    Exit 0: no judged group fails (ok, within noise, or not enough outcomes yet); 1: a group is
    below its bar beyond noise (monitoring.min_live: a number, or auto from its version's
    holdout figure and trivial baseline; unset: auto); 2: it could not be measured.
    """
    from mlops.feedback import performance as api
    from mlops.feedback import render

    result = api.run(".", env, since=since, log_dir=log_dir, store=store)
    files = render.write_reports(result, out_dir)
    if as_json:
        typer.echo(json.dumps({**result.to_dict(), "files": {k: str(v) for k, v in files.items()}},
                              indent=2))  # fmt: skip
    else:
        typer.echo(render.markdown(result) + f"\nwritten: {', '.join(map(str, files.values()))}")
    raise typer.Exit(result.exit_code)


logs_app = typer.Typer(help="The prediction log: retention.", no_args_is_help=True)


@logs_app.command("prune")
def prune(
    env: str = typer.Option(..., "--env", help="Environment whose log is pruned."),
    days: float = typer.Option(
        None, min=0.001, help="Maximum age (default: monitoring.log_retention_days)."
    ),
    log_dir: Path = typer.Option(
        None, help="Prediction log folder (default logs/predictions, as `mlops serve`)."
    ),
) -> None:
    """Delete rotated prediction-log files older than the retention (the server also does this
    at every rotation)."""
    from datetime import timedelta

    from mlops.formats import environments, predlog

    days = days or environments.load(env).monitoring.log_retention_days
    if days is None:
        typer.echo(f"{env}: monitoring.log_retention_days is unset: the log is kept")
        return
    removed = predlog.prune(log_dir or predlog.DEFAULT_DIR, env, timedelta(days=days))
    typer.echo(f"{env}: deleted {len(removed)} rotated file(s) older than {days:g} days")
    for path in removed:
        typer.echo(f"  {path}")
