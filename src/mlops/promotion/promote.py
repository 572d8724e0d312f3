"""`mlops promote ENV VERSION`: propose a new desired state as a branch and one commit.

The edit goes through ``models_file.with_deployment`` (comments survive), the digest comes from
the version's registered metadata, the tag as it is registered now is recorded once under
``registered:`` (``ledger``), and the proposed file must pass the same checks `mlops check`
runs on the pull request, so a promotion the PR check would refuse is refused here, before any
branch exists.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mlops.core import paths
from mlops.core.errors import ConfigError, MlopsError
from mlops.formats import environments, models_file
from mlops.formats.models_file import Canary, Deployment, Pin, Shadow
from mlops.model import registry
from mlops.promotion import audit, check, gitops, ledger


class PromotionError(MlopsError):
    """The requested promotion makes no sense for the current desired state."""


def _canary_deployment(
    env, current: Deployment | None, version, traffic: int, policy
) -> Deployment:
    if not 1 <= traffic <= 99:
        raise ConfigError(
            "--canary", "", "traffic must be a whole percent from 1 to 99", value=traffic
        )
    if traffic > policy.max_traffic:
        raise ConfigError(
            "--canary",
            "",
            f"above {env}'s canary.max_traffic ({policy.max_traffic})",
            value=traffic,
        )
    if current is None:
        raise PromotionError(
            f"{env} has no stable version, so it cannot run a canary; promote a stable version "
            f"first (`mlops promote {env} VERSION`)"
        )
    if current.stable.version == version.version:
        raise PromotionError(f"{env} already serves {version.version} as its stable version")
    return Deployment(current.stable, Canary(version.version, version.digest, traffic))


def _shadow_deployment(env, current: Deployment | None, version, traffic: int, policy):
    """``version`` scored off the answer's path beside what ``env`` serves now (its canary
    kept); the percent within ``canary.max_shadow_traffic``."""
    if not 1 <= traffic <= 100:
        raise ConfigError(
            "--shadow", "", "traffic must be a whole percent from 1 to 100", value=traffic
        )
    if traffic > policy.max_shadow_traffic:
        raise ConfigError(
            "--shadow",
            "",
            f"above {env}'s canary.max_shadow_traffic ({policy.max_shadow_traffic})",
            value=traffic,
        )
    if current is None:
        raise PromotionError(
            f"{env} has no stable version for a shadow to run beside; promote a stable version "
            f"first (`mlops promote {env} VERSION`)"
        )
    if version.version in (current.stable.version, current.canary and current.canary.version):
        raise PromotionError(f"{env} already answers with {version.version}: a shadow never does")
    return replace(current, shadow=Shadow(version.version, version.digest, traffic))


def desired(root, env: str, version: str, canary: int | None, model: str | None,
            shadow: int | None = None):  # fmt: skip
    """(model, current deployment, new deployment, version) for a promotion request."""
    config = environments.load(env, root)
    current_file = models_file.load(Path(root) / paths.MODELS_FILE)
    model = model or current_file.default_model()
    target = registry.get_version(root, model, version)
    current = current_file.deployment(env, model)
    if canary is not None and shadow is not None:
        raise ConfigError(
            "--shadow", "", "a version is either a canary or a shadow, not both", value=shadow
        )
    if shadow is not None:
        new = _shadow_deployment(env, current, target, shadow, config.canary)
    elif canary is not None:
        new = _canary_deployment(env, current, target, canary, config.canary)
    else:
        new = Deployment(Pin(target.version, target.digest))
    if new == current:
        raise PromotionError(f"{env} already serves {audit.describe(new)}; nothing to promote")
    return model, current, new, target


def _body(model: str, env: str, version: registry.Version, message: str | None) -> str:
    metrics = version.metadata.get("metrics", {})
    shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()) if isinstance(v, float))
    reason = message or f"Promote {model} {version.version} to {env}."
    return f"{reason}\n\n{version.tag} (commit {version.commit[:10]}): {shown}"


def propose(root, env: str, text: str, subject: str, body: str, branch: str, push: bool):
    """Check the proposed models.yaml like the PR check will, then branch, commit, maybe push."""
    gitops.require_clean_models_file(root)
    report = check.evaluate(root, text, "HEAD")
    check.raise_on_failures(report, f"promoting {env} would fail `mlops check`")
    proposal = gitops.commit_models_file(root, branch, text, subject, body)
    return gitops.push(root, proposal) if push else proposal


def promote(
    root: str | Path = ".",
    env: str = "",
    version: str = "",
    canary: int | None = None,
    message: str | None = None,
    push: bool = False,
    model: str | None = None,
    shadow: int | None = None,
) -> gitops.Proposal:
    model, current, new, target = desired(root, env, version, canary, model, shadow)
    text = models_file.with_deployment(
        (Path(root) / paths.MODELS_FILE).read_text(), env, new, model
    )
    text = ledger.with_record(text, target)  # how it is registered now, once and for good
    subject = f"promote {env}: {audit.describe(current)} → {audit.describe(new)}"
    branch = f"promote/{env}-{version}" + (f"-canary{canary}" if canary is not None else "")
    branch += f"-shadow{shadow}" if shadow is not None else ""
    return propose(root, env, text, subject, _body(model, env, target, message), branch, push)
