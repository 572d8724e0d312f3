"""`mlops serve-pinned`: the command of pinned mode (``mlops.serve.pinned``), kept apart so
that building the CLI never imports the model stack."""

from __future__ import annotations

from pathlib import Path

import typer

from mlops.formats import predlog


def register(app: typer.Typer) -> None:
    @app.command("serve-pinned")
    def serve_pinned(
        model_file: Path = typer.Option(..., envvar="MLOPS_MODEL_FILE", help="The model file."),
        version: str = typer.Option(..., envvar="MLOPS_MODEL_VERSION", help="e.g. v1.3.0"),
        digest: str = typer.Option(
            ..., envvar="MLOPS_MODEL_DIGEST", help="sha256:<hex>, checked before loading."
        ),
        model: str = typer.Option(
            ..., envvar="MLOPS_MODEL_NAME", help="Model name (contract.yaml's `model`)."
        ),
        threshold: float = typer.Option(
            0.5,
            envvar="MLOPS_MODEL_THRESHOLD",
            help="Probability at which a prediction is 1, for model files that do not carry "
            "their own.",
        ),
        env: str = typer.Option("production", envvar="MLOPS_ENV", help="Environment name."),
        host: str = typer.Option("0.0.0.0", help="Address to bind."),
        port: int = typer.Option(8080, envvar="MLOPS_PORT", help="Port (KServe expects 8080)."),
        grpc_port: int = typer.Option(
            8081, envvar="MLOPS_GRPC_PORT", help="gRPC port (Open Inference Protocol); 0: off."
        ),
        state_dir: Path = typer.Option(
            Path("/tmp/mlops"), envvar="MLOPS_STATE_DIR", help="Worker state and metrics files."
        ),
        log_dir: str = typer.Option(
            predlog.DEFAULT_DIR,
            envvar="MLOPS_LOG_DIR",
            help="Prediction log folder (relative to --state-dir, or a mounted volume); "
            "'-' writes the JSON lines to stdout.",
        ),
        log_sample_rate: float = typer.Option(1.0, min=0.0, max=1.0, help="Share logged."),
        workers: int = typer.Option(1, min=1, help="Worker processes sharing the port."),
    ) -> None:
        """Serve one model file, verified against VERSION's sha256, with no Git access (the
        image in a KServe InferenceService; `mlops render` sets every option)."""
        from mlops.serve import server
        from mlops.serve.pinned import PINNED_REF
        from mlops.serve.settings import Settings

        settings = Settings(
            root=str(state_dir), env=env, host=host, port=port, ref=PINNED_REF, model=model,
            log_dir=log_dir, log_sample_rate=log_sample_rate, workers=workers, keep_warm=0,
            sync_interval=10.0, pinned_file=str(model_file), pinned_version=version,
            pinned_digest=digest, pinned_threshold=threshold, grpc_port=grpc_port or None,
        )  # fmt: skip
        server.run(settings)
