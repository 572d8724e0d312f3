"""`mlops render`: write deploy/<env>/ and deploy/argocd/<env>.yaml for kserve targets."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("render")
    def render_cmd(
        env: str = typer.Option(None, help="Only this environment (default: every one)."),
        check: bool = typer.Option(
            False, "--check", help="Write nothing; exit 1 listing the files that are stale."
        ),
        base: str = typer.Option(
            None,
            help="The ref whose deploy/ is deployed: a rollout starts from it (default: "
            "origin/main, else main, else HEAD).",
        ),
    ) -> None:
        """Render KServe and Argo CD manifests from models.yaml and environments/ into deploy/."""
        from mlops.kube import render

        if check:
            stale = render.stale(".", base)
            typer.echo("\n".join(stale) or "deploy/ is up to date")
            raise typer.Exit(1 if stale else 0)
        changed = render.write(".", env, base)
        typer.echo("\n".join(f"wrote {p}" for p in changed) or "deploy/ is up to date")
        for note in filter(None, (render.storage_note(".", e) for e in render.targets(".", env))):
            typer.echo(note)
        for warning in render.warnings(".", env):
            typer.echo(f"warning: {warning}", err=True)
