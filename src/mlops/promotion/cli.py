"""CLI of the GitOps loop: register, versions, promote, rollback, check, deploy, status, audit.

Each command tidies its arguments and calls one function; the logic lives in the modules here.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

JSON_HELP = "Print JSON instead of a table (for scripts)."


def _json(data) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def register(app: typer.Typer) -> None:
    """Add the promotion commands to the `mlops` app."""

    @app.command("register")
    def register_cmd(
        bump: str = typer.Option(
            None, help="Version part to bump: major, minor or patch (default minor)."
        ),
        push: bool = typer.Option(False, help="Push the new tag to origin."),
    ) -> None:
        """Tag the workspace model as <model>@vX.Y.Z if it differs from the latest version."""
        from mlops.model import register

        done = register.register(".", bump=bump, push=push)
        v = done.version
        if not done.created:
            pushed = "; pushed it to origin" if done.pushed else "; nothing to register"
            typer.echo(f"{v.tag} already holds this model ({v.digest[:19]}…){pushed}")
            return
        typer.echo(
            f"registered {v.tag} at {v.commit[:10]} ({v.digest[:19]}…)"
            + (", pushed" if done.pushed else " (local; `mlops register --push` pushes it)")
        )

    @app.command("versions")
    def versions_cmd(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
        """List registered versions, their holdout metrics and where models.yaml deploys them."""
        from mlops.promotion import versions

        rows = versions.list_versions(".")
        _json(rows) if as_json else typer.echo(versions.table(rows))
        for problem in versions.problems("."):
            typer.echo(f"versions: {problem}", err=True)

    @app.command("promote")
    def promote_cmd(
        env: str = typer.Argument(..., help="Environment (a file in environments/)."),
        version: str = typer.Argument(..., help="Registered version, e.g. v1.3.0."),
        canary: int = typer.Option(None, help="Serve VERSION to this percent of requests (1-99)."),
        shadow: int = typer.Option(
            None, help="Score this percent of requests (1-100) with VERSION off the answer's path."
        ),
        message: str = typer.Option(None, help="Why: goes into the commit and the pull request."),
        push: bool = typer.Option(False, help="Push the branch and open the pull request."),
    ) -> None:
        """Propose VERSION for ENV: a branch and a commit of models.yaml (digest filled in)."""
        from mlops.promotion import gitops, promote

        proposal = promote.promote(
            ".", env, version, canary=canary, message=message, push=push, shadow=shadow
        )
        typer.echo(f"{proposal.subject}\n{gitops.next_steps(proposal)}")

    @app.command("rollback")
    def rollback_cmd(
        env: str = typer.Argument(..., help="Environment to roll back."),
        message: str = typer.Option(None, help="Why: goes into the commit and the pull request."),
        push: bool = typer.Option(False, help="Push the branch and open the pull request."),
    ) -> None:
        """Propose the revert of the latest commit that changed ENV in models.yaml."""
        from mlops.promotion import gitops, rollback

        proposal = rollback.rollback(".", env, message=message, push=push)
        typer.echo(f"{proposal.subject}\n{gitops.next_steps(proposal)}")

    @app.command("check")
    def check_cmd(
        base: str = typer.Option(
            None, help="Revision to compare with (default origin/main, else main)."
        ),
        out: Path = typer.Option(None, help="Write the markdown promotion plan to this file."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
        allow_removal: bool = typer.Option(
            False, help="Accept removing an environment from models.yaml (its server stops)."
        ),
        log_dir: Path = typer.Option(
            None, help="Prediction log the replay reads (default logs/predictions)."
        ),
        store: Path = typer.Option(None, help="Outcome store the replay reads (default outcomes)."),
    ) -> None:
        """Check models.yaml (schema, versions, digests, DVC remote, gates, order, canary) and
        replay each candidate on the environment's logged traffic."""
        from mlops.promotion import check, plan_markdown

        report = check.check(
            ".", base=base, out=out, allow_removal=allow_removal, log_dir=log_dir, store=store
        )
        _json(report.to_dict()) if as_json else typer.echo(plan_markdown.markdown(report))
        check.raise_on_failures(report)

    @app.command("deploy")
    def deploy_cmd(
        env: str = typer.Option(
            None, help="Only this environment (default: every one in models.yaml)."
        ),
        wait: float = typer.Option(
            120.0, min=1, help="Seconds to wait for each target to report Synced."
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Reconcile each environment's server to models.yaml at HEAD, then wait for Synced."""
        from mlops.promotion import deploy

        results = deploy.deploy(
            ".", env=env, wait=wait, log=(lambda _: None) if as_json else typer.echo
        )
        if as_json:
            _json([r.to_dict() for r in results])

    @app.command("status")
    def status_cmd(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
        """Desired (models.yaml at HEAD) against live (each server's /version), per environment."""
        from mlops.promotion import status

        rows = status.status(".")
        _json(rows) if as_json else typer.echo(status.table(rows))

    @app.command("audit")
    def audit_cmd(
        env: str = typer.Option(None, help="Only changes of this environment."),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Every change of models.yaml in history: who, when, PR, environment, from → to.

        A change pushed without a pull request is judged by `mlops check` against the state
        before it, as `mlops deploy` and the servers judge it, and marked. Exits 1 when a tag
        models.yaml recorded at promotion was re-created or moved since, or when the latest
        change is a direct push that check refuses (no server applies it)."""
        from mlops.promotion import audit, ledger, unreviewed

        trail = audit.read(".")
        judged = unreviewed.judge(".", trail)
        changes = [c for c in trail.changes if env is None or c.env == env]
        if as_json:
            verdicts = {u.commit: u for u in judged}
            rows = [c.to_dict() for c in changes]
            for row in rows:
                if row["commit"] in verdicts:
                    row["unreviewed"] = {"refused": verdicts[row["commit"]].failures}
            _json(rows)
        else:
            typer.echo(audit.table(changes, unreviewed.notes(judged)))
        for problem in trail.problems:
            typer.echo(f"audit: {problem}", err=True)
        for verdict in judged:
            typer.echo(f"audit: {verdict.describe()}", err=True)
        if older := unreviewed.not_judged(trail):
            typer.echo(f"audit: {older}", err=True)
        rewritten = ledger.problems_at(".", "HEAD")
        for problem in rewritten:
            typer.echo(f"audit: {problem}", err=True)
        if rewritten or unreviewed.head_refused(trail, judged):
            raise typer.Exit(1)
