"""`mlops site`: a thin wrapper over ``mlops.site.build``."""

from __future__ import annotations

from pathlib import Path

import typer


def site(
    out: Path = typer.Option(Path("site"), "--out", help="Folder to write index.html into."),
    drift_dir: Path = typer.Option(
        None, help="Where `mlops drift` wrote its reports (default reports/drift)."
    ),
    live: bool = typer.Option(
        True, help="Ask each environment's server whether it serves what Git says."
    ),
    live_timeout: float = typer.Option(
        2.0, min=0.1, help="Seconds to wait for the servers at most; no answer is shown as such."
    ),
) -> None:
    """Write the model registry page (versions, environments, promotions, rollbacks, drift)."""
    from mlops.site.build import build

    built = build(".", out, drift_dir=drift_dir, live_timeout=live_timeout if live else None)
    d = built.data
    typer.echo(
        f"site: wrote {built.index} ({len(d.versions)} versions, {len(d.changes)} changes, "
        f"{len(d.environments)} environments) in {built.seconds:.2f} s; "
        f"open file://{built.index.resolve()}"
    )


def register(app: typer.Typer) -> None:
    """Add `mlops site` to the `mlops` app."""
    app.command("site")(site)
