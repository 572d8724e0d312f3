"""`mlops canary`: read the server's metrics and the live error, analyse them
(``mlops.monitoring.canary``), and propose the Git change the verdict asks for
(``mlops.monitoring.canary_pr``)."""

from __future__ import annotations

from pathlib import Path

from mlops.core import paths
from mlops.core.errors import NotFoundError
from mlops.formats import environments, models_file
from mlops.monitoring import canary, canary_pr, live_error
from mlops.promotion import target


def scrape(url: str, timeout: float = 10.0) -> str:
    try:
        return target.metrics(url, timeout)
    except target.TargetError as exc:
        raise canary.CanaryError(
            f"{exc}; is the server running? (`--url` or serving.url in environments/ENV.yaml)"
        ) from exc


def run(
    root: str | Path = ".",
    env: str = "production",
    *,
    url: str | None = None,
    open_pr: bool = False,
    model: str | None = None,
    push: bool = True,
    pr_on: str = "both",
    metrics_text: str | None = None,
    log_dir: str | Path | None = None,
    store: str | Path | None = None,
):
    """Scrape the server, read the live error where outcomes exist, analyse, and with
    ``open_pr`` propose the change the verdict asks for (returns ``(analysis, Proposal |
    None)``)."""
    root = Path(root)
    environment = environments.load(env, root)
    models = models_file.load(root / paths.MODELS_FILE)
    deployment = models.deployment(env, model)
    if deployment is None:
        raise NotFoundError(f"{paths.MODELS_FILE}: nothing is deployed to {env!r}")
    text = metrics_text if metrics_text is not None else scrape(url or environment.serving.url)
    live = live_error.pair(root, env, deployment, log_dir, store) if deployment.canary else None
    analysis = canary.analyze(environment, deployment, text, live)
    proposal = (
        canary_pr.propose(root, analysis, deployment, model, push, pr_on, canary.markdown(analysis))
        if open_pr
        else None
    )
    return analysis, proposal
