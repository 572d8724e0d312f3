"""The promotion plan of a models.yaml change: per environment, what changes and how (promotion,
canary, rollback, ...), and the report `mlops check` collects its failures in."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlops.formats import models_file
from mlops.formats.models_file import Deployment
from mlops.model import registry
from mlops.promotion import audit
from mlops.quality import gates


@dataclass
class EnvPlan:
    model: str
    env: str
    before: Deployment | None
    after: Deployment | None
    kind: str  # promotion, canary, rollback, removal, unchanged
    live: registry.Version | None = None
    candidates: list[registry.Version] = field(default_factory=list)
    gates: dict[str, list[gates.GateResult]] = field(default_factory=dict)
    # per candidate version: the live version, scored on the candidate's holdout when it could be
    compared: dict[str, gates.Live] = field(default_factory=dict)


@dataclass
class Report:
    base: str
    failures: list[str] = field(default_factory=list)
    plans: list[EnvPlan] = field(default_factory=list)
    policy_changes: list[str] = field(default_factory=list)
    history_problems: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # extra markdown for the plan (deploy/)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {
            "base": self.base,
            "ok": self.ok,
            "failures": self.failures,
            "policy_changes": self.policy_changes,
            "history_problems": self.history_problems,
            "plans": [
                {
                    "model": p.model,
                    "env": p.env,
                    "kind": p.kind,
                    "from": audit.describe(p.before),
                    "to": audit.describe(p.after),
                    "gates": {v: [g.to_dict() for g in rs] for v, rs in p.gates.items()},
                    "compared_with": {v: gates.comparison(live) for v, live in p.compared.items()},
                }
                for p in self.plans
            ],
        }


def pins(dep: Deployment) -> list[tuple[str, models_file.Pin]]:
    extra = [(f"{k}.", p) for k, p in (("canary", dep.canary), ("shadow", dep.shadow)) if p]
    return [("", dep.stable), *extra]


def identity(pin) -> tuple[str, str]:
    """A pin's or a registered version's identity: (version, digest)."""
    return pin.version, pin.digest


def kind(before: Deployment | None, after: Deployment | None, previously_live: set) -> str:
    """A rollback returns to a (version, digest) that was live here; a version name alone is
    not enough (a tag re-created on another artifact keeps its name)."""
    if before == after:
        return "unchanged"
    if after is None:
        return "removal"
    if before and (before.stable, before.canary) == (after.stable, after.canary):
        return "shadow"  # only the shadow changed: it never answers
    if before and after.stable == before.stable and after.canary:
        return "canary"
    if identity(after.stable) in previously_live and not after.canary:
        return "rollback"
    return "promotion"
