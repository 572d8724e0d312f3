"""The `mlops` command. Each command tidies its arguments and calls one function; the logic
lives in the modules named after each concern.

Start-up stays fast because building the app imports nothing heavy. When you add a command:

- a `cli.py` module (this one, ``mlops/<area>/cli.py``) imports at the top only the standard
  library, ``typer`` and light ``mlops`` modules (``errors``, ``paths``, ``predlog``);
- everything else (pandas, numpy, scikit-learn, skops, DVC, the server, and any ``mlops`` module
  that imports them) is imported inside the command function, where it runs only when that
  command runs::

      @app.command("thing")
      def thing(env: str = typer.Option(..., help="Environment.")) -> None:
          \"\"\"One line of help.\"\"\"
          from mlops.area import thing as api  # the heavy part, imported on use

          typer.echo(api.run(".", env))

- defaults shown in `--help` are plain values or constants from light modules.

tests/unit/test_cli_imports.py fails when building the app, `mlops --help`, `mlops versions` or
`mlops audit` imports scikit-learn, pandas, numpy, skops or DVC."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mlops.core.errors import MlopsError
from mlops.feedback import cli as feedback_cli
from mlops.kube import cli as kube_cli
from mlops.monitoring import cli as monitoring_cli
from mlops.promotion import cli as promotion_cli
from mlops.report import cli as report_cli
from mlops.serve import cli as serve_cli
from mlops.site import cli as site_cli

app = typer.Typer(
    help="GitOps for ML: data, pipeline, versions, promotion, serving and monitoring from Git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(
    help="Data: adopt your own table, put the bundled sample back, restore what data.dvc pins.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


@data_app.command("generate")
def data_generate(
    out: Path = typer.Option(Path("data/churn.csv"), help="CSV file to write."),
    rows: int = typer.Option(20_000, min=1, help="Number of customers."),
    seed: int = typer.Option(2026, help="Random seed; the same seed gives the same bytes."),
    drift: float = typer.Option(
        0.0, min=0.0, max=1.0, help="0 = training population; 1 = fully drifted traffic."
    ),
) -> None:
    """Write a deterministic customer-churn table (optionally drifted)."""
    from mlops.data import sample

    sample.write(out, rows, seed, drift)
    typer.echo(f"wrote {rows} rows to {out} (seed={seed}, drift={drift})")


@data_app.command("adopt")
def data_adopt(
    file: Path = typer.Argument(..., help="The table: a .csv or .parquet file."),
    target: str = typer.Option(..., help="The column to predict."),
    task: str = typer.Option(
        "auto", help="auto | binary | multiclass | regression (auto infers it from the target)."
    ),
    segment: str = typer.Option(None, help="A category column to slice metrics by."),
    name: str = typer.Option(
        None, help="Model name for tags and models.yaml (default: from the file name)."
    ),
    positive_label: str = typer.Option(
        None, help="Binary: the class whose probability is the score (default: inferred)."
    ),
) -> None:
    """Make FILE the workspace's data: infer contract.yaml, set task gates, `dvc add` it."""
    from mlops.data.adopt import adopt, describe

    if task not in ("auto", "binary", "multiclass", "regression"):
        raise typer.BadParameter("one of auto, binary, multiclass, regression", param_hint="--task")
    done = adopt(file, target, task=task, segment=segment, name=name, positive=positive_label)
    typer.echo(describe(done))


@data_app.command("sample")
def data_sample(
    rows: int = typer.Option(None, min=1, help="Rows (default: params.yaml sample.rows)."),
) -> None:
    """Put the bundled churn sample back: its table, its contract and its gates."""
    from mlops.data.adopt import adopt_sample, describe

    typer.echo(describe(adopt_sample(".", rows=rows)))


@data_app.command("restore")
def data_restore() -> None:
    """Pull data/ from the DVC remote, or regenerate the sample and verify it against data.dvc."""
    from mlops.data.restore import restore

    how = restore(".")
    typer.echo(f"data: {how}")


@data_app.command("refresh")
def data_refresh(
    env: str = typer.Option("production", "--env", help="Environment whose traffic is added."),
    log_dir: Path = typer.Option(
        None, help="Prediction log folder (default logs/predictions, as `mlops serve`)."
    ),
    store: Path = typer.Option(None, help="Outcome folder (default outcomes/)."),
    dvc: bool = typer.Option(True, "--dvc/--no-dvc", help="Run `dvc add data` (default)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Add labelled live traffic (params.yaml refresh: window_days, max_rows) to the data,
    validate it against contract.yaml, `dvc add data`. Exit 0 refreshed or nothing new, 1 the
    new table fails validation (nothing written), 2 other errors."""
    import json

    from mlops.data.refresh import refresh

    done = refresh(".", env, log_dir=log_dir, store=store, dvc_add=dvc)
    if as_json:
        typer.echo(json.dumps(done.to_dict(), indent=2))
    elif not done.changed:
        repeats = (
            f" ({done.duplicates_skipped:,} labelled rows repeat rows already there)"
            if done.duplicates_skipped
            else ""
        )
        typer.echo(f"data: no new labelled traffic from {env}{repeats}; {done.data} unchanged")
    else:
        typer.echo(
            f"data: {done.data} {done.rows_before:,} -> "
            f"{done.rows_before + done.rows_added - done.rows_dropped:,} "
            f"rows ({done.rows_added:,} labelled predictions from {env}, "
            f"{len(done.outcome_files)} outcome file(s)"
            + (
                f"; {done.duplicates_skipped:,} identical to rows already there, skipped"
                if done.duplicates_skipped
                else ""
            )
            + (
                f"; the oldest {done.rows_dropped:,} dropped out (refresh.keep_rows)"
                if done.rows_dropped
                else ""
            )
            + f"); the retrain learns from {done.recency} (params.yaml train.recency)"
            + (
                f"; then: git add {done.dvc_file} && git commit && dvc push"
                if done.dvc_file
                else ""
            )
        )


@app.command()
def demo() -> None:
    """Run the whole GitOps loop in a sandbox: retrain, register, promote, deploy, canary,
    roll back, audit, detect drift on live traffic, measure live performance from outcomes,
    recover through a refresh-and-retrain pull request, a shadow, the replay in a promotion
    plan, a gate in dry run and a worse canary rolled back by its sequential test."""
    from mlops.demos.loop import run

    run()


promotion_cli.register(app)
serve_cli.register(app)
monitoring_cli.register(app)
report_cli.register(app)
site_cli.register(app)

kube_cli.register(app)

feedback_cli.register(app)


def main() -> None:
    try:
        app()
    except MlopsError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)
