"""A shadow version in models.yaml, judged by the environment's policy at the base: its share of
requests within ``canary.max_shadow_traffic`` (0: no shadows in this environment), and not the
version it would shadow. Registration, digest and the DVC remote are checked like every pin."""

from __future__ import annotations

from mlops.core import paths
from mlops.formats import environments


def problems(plan, config: environments.Environment) -> list[str]:
    """What the policy refuses in ``plan``'s shadow (a ``plan.EnvPlan``), one line each."""
    shadow = plan.after.shadow if plan.after else None
    if shadow is None:
        return []
    where = f"{paths.MODELS_FILE}: models.{plan.model}.{plan.env}.shadow"
    limit = config.canary.max_shadow_traffic
    out = []
    if shadow.traffic > limit:
        allowed = f"at most {limit} %" if limit else "no shadow"
        out.append(
            f"{where}.traffic = {shadow.traffic}: {plan.env} allows {allowed} "
            f"(canary.max_shadow_traffic in {config.source})"
        )
    if shadow.version == plan.after.stable.version:
        out.append(f"{where}.version = {shadow.version!r}: the shadow is the stable version")
    return out
