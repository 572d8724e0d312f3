"""`mlops drift` and `mlops canary`: thin wrappers over ``drift.run`` and ``canary_run.run``."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the monitoring commands to the `mlops` app."""
    app.command("drift")(drift)
    app.command("canary")(canary)


def drift(
    env: str = typer.Option(..., "--env", help="Environment whose stable version is checked."),
    since: str = typer.Option(
        None,
        help="Only records logged in the last 30m, 24h, 7d, 2w, or since an ISO time "
        "(2026-11-27T06:40Z).",
    ),
    max_rows: int = typer.Option(
        100_000,
        min=100,
        help="Sample at most this many logged rows (the rate is recorded in the report).",
    ),
    log_dir: Path = typer.Option(
        None, help="Prediction log folder (default logs/predictions, as `mlops serve`)."
    ),
    out_dir: Path = typer.Option(
        Path("reports/drift"), help="Where drift.html, drift.json and drift.md are written."
    ),
    model: str = typer.Option(None, help="Model name in models.yaml (default: the first)."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON result, not markdown."),
) -> None:
    """Compare logged traffic with the training data of the version it was served by.

    Exit 0: no drift, or nothing to compare yet (nothing deployed or logged: said on stdout);
    1: drift; 2: the comparison could not be made (the message says why).
    """
    from mlops.monitoring import drift as api

    try:
        result, files = api.run(
            ".", env, since=since, max_rows=max_rows, log_dir=log_dir, out_dir=out_dir, model=model
        )
    except api.NothingToCompare as exc:
        payload = json.dumps({"env": env, "drift": None, "reason": str(exc)})
        typer.echo(payload if as_json else f"## Drift in {env}: nothing to compare yet\n\n{exc}")
        raise typer.Exit(0) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    **result.to_dict(),
                    "evidently": None,
                    "files": {k: str(v) for k, v in files.items()},
                },
                indent=2,
            )
        )
    else:
        typer.echo(api.markdown(result) + f"\nwritten: {', '.join(map(str, files.values()))}")
    raise typer.Exit(result.exit_code)


def canary(
    env: str = typer.Option(..., "--env", help="Environment whose canary is analysed."),
    url: str = typer.Option(
        None, help="Server URL (default: serving.url in environments/ENV.yaml)."
    ),
    open_pr: bool = typer.Option(
        False,
        "--open-pr",
        help="Make the verdict a Git change as `mlops promote`/`mlops rollback` do: a branch, "
        "one commit of models.yaml, push, pull request (gh).",
    ),
    push: bool = typer.Option(
        True, "--push/--no-push", help="With --open-pr: push and open the PR (default)."
    ),
    pr_on: str = typer.Option(
        "both", help="With --open-pr: which verdicts become a PR: rollback, promote or both."
    ),
    model: str = typer.Option(None, help="Model name in models.yaml (default: the first)."),
    log_dir: Path = typer.Option(
        None, help="Prediction log folder for the live error (default logs/predictions)."
    ),
    store: Path = typer.Option(
        None, help="Outcome store for the live error (default: as `mlops outcomes ingest`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON."),
) -> None:
    """Compare canary and stable with sequential tests that stay valid however often this runs:
    the 5xx rate and the predictions (the live server's /metrics), the live error (the log
    joined to the outcomes, where they exist); promote, keep watching or roll back.

    Exit 0: promote or keep watching; 1: rollback; 2: the analysis could not be made.
    """
    from mlops.monitoring import canary as api
    from mlops.monitoring import canary_run
    from mlops.monitoring.canary_pr import PR_ON
    from mlops.promotion import gitops

    if pr_on not in PR_ON:
        raise typer.BadParameter(f"--pr-on must be one of {', '.join(PR_ON)}")
    analysis, proposal = canary_run.run(
        ".", env, url=url, open_pr=open_pr, model=model, push=push, pr_on=pr_on,
        log_dir=log_dir, store=store,
    )  # fmt: skip
    if as_json:
        change = None if proposal is None else {**proposal.__dict__}
        typer.echo(json.dumps({**analysis.to_dict(), "change": change}, indent=2))
    else:
        typer.echo(api.markdown(analysis))
        if proposal is not None:
            typer.echo(gitops.next_steps(proposal))
    raise typer.Exit(analysis.exit_code)
