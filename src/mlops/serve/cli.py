"""`mlops serve`: a thin wrapper that tidies the options and calls ``server.run``."""

from __future__ import annotations

import os

import typer

from mlops.formats import predlog


def register(app: typer.Typer) -> None:
    from mlops.serve import pinned_cli

    pinned_cli.register(app)

    @app.command()
    def serve(
        env: str = typer.Option(
            ..., "--env", help="Environment to serve (environments/<env>.yaml)."
        ),
        host: str = typer.Option(None, help="Address to bind (default: from serving.url)."),
        port: int = typer.Option(None, help="Port to bind (default: from serving.url)."),
        ref: str = typer.Option(
            "origin/main", help="Git ref whose models.yaml is the desired state (fetched first)."
        ),
        sync_interval: float = typer.Option(
            30.0, min=0.5, help="Seconds between reconciles (POST /-/sync reconciles at once)."
        ),
        log_dir: str = typer.Option(
            predlog.DEFAULT_DIR, help="Prediction log folder, relative to the repository."
        ),
        log_sample_rate: float = typer.Option(
            1.0, min=0.0, max=1.0, help="Share of requests written to the prediction log."
        ),
        log_max_mb: float = typer.Option(
            50.0, min=0.01, help="Rotate the prediction log when the file exceeds this size."
        ),
        workers: int = typer.Option(
            min(2, os.cpu_count() or 1),
            min=1,
            help="Worker processes sharing the port (one per core); each batches its own "
            "requests and all follow the same commit.",
        ),
        model: str = typer.Option(
            None, help="Model name in models.yaml (default: the first one declared)."
        ),
        max_body_mb: float = typer.Option(
            16.0, min=0.001, help="Refuse request bodies above this size with 413, unread."
        ),
        policy: bool = typer.Option(
            True,
            "--policy/--no-policy",
            envvar="MLOPS_SERVE_POLICY",
            help="Apply a new desired state only when it passes `mlops check` against the "
            "applied one (else Degraded, the applied state keeps serving). --no-policy applies "
            "whatever the ref says: for development servers only.",
        ),
        grpc_port: int = typer.Option(
            None, help="Also serve the Open Inference Protocol over gRPC on this port."
        ),
    ) -> None:
        """Serve ENV's models: follow models.yaml in Git, predict fast, report the deploy state.

        Run it in a clone of the repository. POST /-/sync needs
        `Authorization: Bearer $MLOPS_SYNC_TOKEN`.
        """
        from mlops.serve import server

        root = server.repo_root(".")
        settings = server.settings_for(
            env,
            root,
            host=host,
            port=port,
            ref=ref,
            sync_interval=sync_interval,
            log_dir=log_dir,
            log_sample_rate=log_sample_rate,
            log_max_bytes=int(log_max_mb * 2**20),
            workers=workers,
            model=model,
            max_body_bytes=int(max_body_mb * 2**20),
            policy=policy,
            grpc_port=grpc_port,
        )
        server.run(settings)
