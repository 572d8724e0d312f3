"""`mlops check`: is the models.yaml of this change safe to merge? And the promotion plan.

Every check runs and every failure is listed: the schema; each pinned version exists; each digest
equals the registered sha256; each artifact is in the DVC remote; each environment exists; each
new version passes the environment's gates (its registered metrics; ``max_regression`` against the
live version's model scored on the new version's holdout, both fetched through DVC and checked
against their digests, else against the live version's recorded metrics); promotion order
(``requires``); the canary within the environment's policy; no environment silently removed.

What was live comes from the first-parent line of the base (``audit.read``), and the policy
(gates, ``requires``, canary limits) from the base's environment files: a change is never
judged by rules it brings itself, and any policy change it makes is listed in the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlops.core import paths
from mlops.core.errors import ConfigError, MlopsError
from mlops.core.tools import default_base
from mlops.formats import environments, models_file
from mlops.formats.models_file import Deployment, ModelsFile
from mlops.kube import render
from mlops.model import registry
from mlops.promotion import audit, ledger, policy, shadow_policy
from mlops.promotion import candidate as candidates
from mlops.quality import champion, gates


class CheckFailed(MlopsError):
    """models.yaml failed one or more checks; the message lists them all."""

    exit_code = 1


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


def _load_base(root: str | Path, base: str) -> ModelsFile:
    try:
        return models_file.load_at(base, root)
    except ConfigError:
        return ModelsFile()  # no (valid) models.yaml at base: everything is new


def _pins(dep: Deployment) -> list[tuple[str, models_file.Pin]]:
    extra = [(f"{k}.", p) for k, p in (("canary", dep.canary), ("shadow", dep.shadow)) if p]
    return [("", dep.stable), *extra]


def _identity(pin) -> tuple[str, str]:
    """A pin's or a registered version's identity: (version, digest)."""
    return pin.version, pin.digest


def _kind(before: Deployment | None, after: Deployment | None, previously_live: set) -> str:
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
    if _identity(after.stable) in previously_live and not after.canary:
        return "rollback"
    return "promotion"


class _Checker:
    def __init__(
        self,
        root: Path,
        head: ModelsFile,
        base_rev: str,
        allow_removal: bool = False,
        rev: str | None = None,
    ):
        self.root, self.head, self.base_rev, self.rev = root, head, base_rev, rev
        self.allow_removal = allow_removal
        self.base = _load_base(root, base_rev)
        self.report = Report(base_rev, policy_changes=policy.changes(root, base_rev, rev))
        self.known_envs = environments.names_at(rev, root) if rev else environments.names(root)
        models = dict.fromkeys([*self.base.models, *head.models])
        tags = {m: registry.read_tags(root, m) for m in models}
        self.registered = {m: {v.version: v for v in tags[m][0]} for m in models}
        self.tag_problems = [p for m in models for p in tags[m][1]]
        self._history: list[audit.Change] | None = None
        self.unfetchable: dict[str, str] = {}  # tag -> why its artifacts cannot be fetched
        self.scorers: dict[str, champion.Scorer] = {}  # candidate tag -> its holdout's scorer
        self._line: set[str] | None = None

    def fail(self, text: str) -> None:
        self.report.failures.append(text)

    def history(self) -> list[audit.Change]:
        if self._history is None:
            trail = audit.read(self.root, self.base_rev)
            self._history, self.report.history_problems = trail.changes, trail.problems
        return self._history

    def ever_live(self, model: str, env: str | None = None) -> set[tuple[str, str]]:
        """(version, digest) pairs that were the stable state of ``env`` (any env: None)."""
        live = {
            _identity(c.after.stable)
            for c in self.history()
            if (env is None or c.env == env) and c.model == model and c.after
        }
        bases = self.base.models.get(model, {})
        return live | {_identity(d.stable) for e, d in bases.items() if env in (None, e)}

    def line(self) -> set[str]:
        """Where a candidate's tag commit must be: main's first-parent line as of the base; when
        a commit of main is judged (``rev``: `mlops deploy`, a server), as of that commit too,
        so a version trained and registered after the deployed state counts as merged."""
        if self._line is None:
            self._line = candidates.first_parent_line(self.root, self.base_rev)
            if self.rev:
                self._line |= candidates.first_parent_line(self.root, self.rev)
        return self._line

    def check_registrations(self, versions: list[registry.Version]) -> None:
        """A pinned version must be the tag it was first registered as: the record in
        models.yaml when there is one; else the digest it had when it was live."""
        for problem in ledger.rewritten(self.base, self.head):
            self.fail(problem)
        now = {v.tag: v for m in self.registered.values() for v in m.values()}
        pinned = {registry.tag_name(m, p.version) for m, p in self._all_pins()}
        for problem in ledger.verify(self.head, now, pinned):
            self.fail(problem)
        for version in versions:
            if version.tag in self.head.registered:
                continue
            seen = {d for v, d in self.ever_live(version.model) if v == version.version}
            if seen and version.digest not in seen:
                self.fail(
                    f"tag {version.tag} now records {version.digest}, but {version.version} was "
                    f"live on {self.base_rev} with {', '.join(sorted(seen))}: the tag was "
                    "re-created after it went live. Refusing it; restore the tag or register "
                    "the model as a new version (docs/security.md: a tag ruleset)"
                )

    def _all_pins(self):
        for model, envs in self.head.models.items():
            for dep in envs.values():
                for _, pin in _pins(dep):
                    yield model, pin

    def check_pins(self) -> list[registry.Version]:
        used = {}
        for model, envs in self.head.models.items():
            for env, dep in envs.items():
                where = f"{paths.MODELS_FILE}: models.{model}.{env}"
                if env not in self.known_envs:
                    self.fail(
                        f"{where}: unknown environment {env!r} "
                        f"(known: {', '.join(self.known_envs)})"
                    )
                for prefix, pin in _pins(dep):
                    version = self.registered[model].get(pin.version)
                    if version is None:
                        unknown = self._unknown(model, pin.version)
                        self.fail(f"{where}.{prefix}version = {pin.version!r}: {unknown}")
                        continue
                    used[version.tag] = version
                    if pin.digest != version.digest:
                        self.fail(
                            f"{where}.{prefix}digest = {pin.digest}: "
                            f"{version.tag} is registered with "
                            f"{version.digest}; let `mlops promote` fill the digest in"
                        )
        return list(used.values())

    def _unknown(self, model: str, version: str) -> str:
        tag = registry.tag_name(model, version)
        problem = next((p for p in self.tag_problems if p.startswith(f"tag {tag}:")), None)
        known = ", ".join(self.registered[model]) or "none registered yet"
        return problem or f"no such version (known: {known})"

    def check_remote(self, versions: list[registry.Version]) -> None:
        try:
            missing = registry.missing_from_remote(self.root, versions)
        except registry.ArtifactError as exc:
            self.fail(str(exc))
            self.unfetchable = dict.fromkeys((v.tag for v in versions), "the DVC remote failed")
            return
        for version in missing:
            self.unfetchable[version.tag] = "its artifact is not in the DVC remote"
            self.fail(
                f"{version.tag}: artifact {version.metadata.get('artifact')} (md5 "
                f"{version.metadata.get('md5')}) is not in the DVC remote; "
                f"run `dvc push` at {version.commit[:10]}"
            )

    def plan(self, model: str, env: str) -> EnvPlan:
        before = self.base.models.get(model, {}).get(env)
        after = self.head.models.get(model, {}).get(env)
        previously = self.ever_live(model, env)
        plan = EnvPlan(model, env, before, after, _kind(before, after, previously))
        plan.live = self.registered[model].get(before.stable.version) if before else None
        if plan.kind == "removal":
            self.check_removal(plan)
        if plan.kind in ("unchanged", "removal") or env not in self.known_envs:
            return plan
        config = policy.config(self.root, env, self.base_rev, self.rev)
        self.check_canary(plan, config)
        self.report.failures.extend(shadow_policy.problems(plan, config))
        for _, pin in _pins(after):
            version = self.registered[model].get(pin.version)
            if version is None or (before and pin in [p for _, p in _pins(before)]):
                continue
            if after.shadow is pin:
                continue  # a shadow never answers: no gates, no promotion order
            plan.candidates.append(version)
            self.check_order(plan, config, version, previously)
            self.check_gates(plan, config, version, previously)
        return plan

    def check_removal(self, plan: EnvPlan) -> None:
        """A server whose environment is dropped from models.yaml answers 503 to everything."""
        retired = plan.env not in self.known_envs  # its environment file goes in the same change
        if self.allow_removal or retired:
            return
        self.fail(
            f"{paths.MODELS_FILE}: models.{plan.model}.{plan.env} is removed "
            f"({audit.describe(plan.before)} → none), so {plan.env}'s server would have nothing "
            f"to serve; to retire {plan.env} on purpose, delete {paths.ENVIRONMENTS}/{plan.env}"
            ".yaml in the same change (a policy change, reviewed as one) or pass --allow-removal"
        )

    def check_canary(self, plan: EnvPlan, config: environments.Environment) -> None:
        canary = plan.after.canary
        if canary is None:
            return
        where = f"{paths.MODELS_FILE}: models.{plan.model}.{plan.env}.canary"
        if canary.traffic > config.canary.max_traffic:
            self.fail(
                f"{where}.traffic = {canary.traffic}: above {plan.env}'s canary.max_traffic "
                f"{config.canary.max_traffic} ({config.source})"
            )
        if canary.version == plan.after.stable.version:
            self.fail(
                f"{where}.version = {canary.version!r}: "
                "the canary is the stable version; drop the canary"
            )

    def check_order(self, plan, config, version: registry.Version, previously: set) -> None:
        if not config.requires or _identity(version) in previously:
            return
        if _identity(version) not in self.ever_live(plan.model, config.requires):
            self.fail(
                f"{plan.env}: {version.tag} was never live in {config.requires} "
                f"({config.source} requires: {config.requires}); "
                f"promote it to {config.requires} first"
            )

    def compared(self, plan: EnvPlan, version: registry.Version, rollback: bool):
        """What the candidate's max_regression is measured against: the live version's model
        scored on the candidate's holdout (fetched through DVC); else its recorded metrics."""
        if plan.live is None:
            return None
        recorded = gates.Results.from_metadata(plan.live.metadata)
        if rollback:  # gates inform, never block: a rollback fetches nothing
            return recorded
        if version.tag in self.unfetchable:
            why = f"{version.tag}: {self.unfetchable[version.tag]}"
            found = champion.Champion(plan.live.version, None, "", why)
        else:
            scorer = self.scorers.setdefault(
                version.tag, champion.Scorer.for_version(self.root, version)
            )
            found = scorer.champion(plan.live, plan.before.stable.digest)
        data_md5 = plan.live.metadata.get("data_md5")
        live = gates.Live(plan.env, plan.live.version, recorded, "", found, data_md5)
        plan.compared[version.version] = live
        return live.compared

    def measured(self, version: registry.Version) -> gates.Results | None:
        """The candidate's figures as measured (see ``candidate``); None, and a failure saying
        why, when they cannot be: nothing in its tag is believed instead."""
        problems = candidates.provenance(self.root, version, self.line(), self.base_rev)
        for problem in problems:
            self.fail(problem)
        if problems or version.tag in self.unfetchable:
            return None
        scorer = self.scorers.setdefault(
            version.tag, champion.Scorer.for_version(self.root, version)
        )
        results, scored = candidates.measured(self.root, version, scorer)
        if results is None:
            self.fail(
                f"{version.tag} could not be scored on its holdout ({scored.note}); a "
                "candidate is gated on measured figures, never on its tag's text"
            )
        return results

    def check_gates(self, plan, config, version: registry.Version, previously: set) -> None:
        rollback = _identity(version) in previously
        if rollback:  # a (version, digest) that served here: gates inform, never block
            recorded = gates.Results.from_metadata(version.metadata)
            live = self.compared(plan, version, rollback)
            plan.gates[version.version] = gates.check(config, recorded, live)
            return
        figures = self.measured(version)
        if figures is None:
            return
        live = self.compared(plan, version, rollback)
        results = gates.check(config, figures, live)
        plan.gates[version.version] = results
        for result in results:
            if result.blocks:  # a dry-run gate is shown as "would block" in the plan
                self.fail(
                    f"{plan.env}: {version.tag} fails gate {result.gate} on {result.metric}: "
                    f"{result.value} vs {result.threshold}"
                    f"{' (' + result.detail + ')' if result.detail else ''}"
                )

    def run(self) -> Report:
        versions = self.check_pins()
        self.check_registrations(versions)
        self.check_remote(versions)
        for model in dict.fromkeys([*self.base.models, *self.head.models]):
            envs = [*self.base.models.get(model, {}), *self.head.models.get(model, {})]
            self.report.plans.extend(self.plan(model, env) for env in dict.fromkeys(envs))
        return self.report


def evaluate(
    root: str | Path,
    text: str,
    base: str,
    source: str = paths.MODELS_FILE,
    allow_removal: bool = False,
    rev: str | None = None,
) -> Report:
    """Check models.yaml ``text`` against the state at ``base``; every failure is collected.
    ``rev``: the commit of main ``text`` comes from (`mlops deploy`, a server), whose
    environment files are read (default: the working tree's, a pull request's)."""
    try:
        head = models_file.parse(text, source)
    except ConfigError as exc:
        return Report(base, failures=[str(exc)])
    return _Checker(Path(root), head, base, allow_removal, rev).run()


def check(
    root: str | Path = ".",
    base: str | None = None,
    out: str | Path | None = None,
    allow_removal: bool = False,
    log_dir: str | Path | None = None,
    store: str | Path | None = None,
) -> Report:
    """`mlops check`: the working tree's models.yaml against ``base`` (default origin/main).
    ``log_dir`` and ``store``: the prediction log and outcome store the replay reads."""
    root = Path(root)
    base = base or default_base(root)
    try:
        text = models_file.read_text(root / paths.MODELS_FILE)
    except ConfigError as exc:
        if "file not found" in str(exc):
            raise
        report = Report(base, failures=[str(exc)])
    else:
        report = evaluate(root, text, base, allow_removal=allow_removal)
        render.add_to_check(report, root)
        if any(plan.candidates for plan in report.plans):  # replay imports pandas: only then
            from mlops.promotion import replay

            # the candidate on this environment's logged traffic
            replay.add_to_check(report, root, log_dir=log_dir, store=store)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(markdown(report))
    return report


def raise_on_failures(report: Report, what: str = "models.yaml") -> None:
    if report.failures:
        listed = "\n".join(f"  - {f}" for f in report.failures)
        raise CheckFailed(f"{what}: {len(report.failures)} problem(s):\n{listed}")


# --- the promotion plan (markdown, posted on the PR by promote.yml) -------------------------


def _metric_columns(plan: EnvPlan) -> list[tuple[str, dict]]:
    """Recorded metrics (each version on its own holdout), then the live version scored on
    each candidate's holdout where it was."""
    versions = ([plan.live] if plan.live else []) + [c for c in plan.candidates if c != plan.live]
    columns = [
        (f"{v.version}{' (live)' if v is plan.live else ''}", v.metadata.get("metrics", {}))
        for v in versions
    ]
    for candidate, live in plan.compared.items():
        if live.champion is not None and live.champion.scored:
            columns.append((f"{live.version} on {candidate}'s holdout", live.champion.metrics))
    return columns


def _metric_rows(plan: EnvPlan) -> list[str]:
    columns = _metric_columns(plan)
    if not columns:
        return []
    names = sorted({m for _, metrics in columns for m in metrics})
    rows = ["| metric | " + " | ".join(title for title, _ in columns) + " |"]
    rows.append("|---" * (len(columns) + 1) + "|")
    for name in names:
        cells = [metrics.get(name) for _, metrics in columns]
        rows.append(
            f"| {name} | " + " | ".join("-" if c is None else f"{c:.4f}" for c in cells) + " |"
        )
    return rows


def _gate_rows(plan: EnvPlan) -> list[str]:
    rows = []
    for version, results in plan.gates.items():
        rows += [
            f"\nGates for {version} in {plan.env}:\n",
            "| gate | metric | value | threshold | |",
            "|---|---|---|---|---|",
        ]
        for r in results:
            mark = "pass" if r.passed else ("would block (dry run)" if r.dry_run else "FAIL")
            rows.append(
                f"| {r.gate} | {r.metric} | {r.value} | {r.threshold} | {mark} {r.detail} |"
            )
        if version in plan.compared:
            live = plan.compared[version]
            rows.append(
                f"\n`max_regression` against {live.version} (live in {plan.env}): "
                f"{gates.compared_with(live)}."
            )
    return rows


def _policy_rows(report: Report) -> list[str]:
    rows = []
    if report.policy_changes:
        rows += [
            "",
            "### Policy change: needs its own review",
            "",
            f"This change edits promotion policy. It is judged by the policy at `{report.base}`; "
            "the new policy applies from the next change after it is merged "
            "(CODEOWNERS review `environments/`).",
            "",
        ]
        rows += [f"- {line}" for line in report.policy_changes]
    if report.history_problems:
        rows += ["", "### History that could not be read (not blocking)", ""]
        rows += [f"- {line}" for line in report.history_problems]
    return rows


def markdown(report: Report) -> str:
    changed = [p for p in report.plans if p.kind != "unchanged"]
    verdict = "all checks passed" if report.ok else f"{len(report.failures)} problem(s)"
    lines = [f"## Promotion plan ({verdict})", "", f"models.yaml against `{report.base}`.", ""]
    if not changed:
        lines.append("No environment changes.")
    else:
        lines += ["| environment | change | from | to |", "|---|---|---|---|"]
        lines += [
            f"| {p.env} | {p.kind} | {audit.describe(p.before)} | {audit.describe(p.after)} |"
            for p in changed
        ]
    for plan in changed:
        lines += [
            "",
            f"### {plan.env}: {audit.describe(plan.before)} → {audit.describe(plan.after)}",
            "",
        ]
        lines += _metric_rows(plan)
        lines += _gate_rows(plan)
        if plan.kind == "rollback":
            lines.append(
                f"\nRollback to a version (and digest) that served {plan.env} before: "
                "gates inform, they do not block."
            )
    lines += _policy_rows(report)
    lines += report.sections
    lines += ["", "### Checks", ""]
    lines += [f"- FAIL: {f}" for f in report.failures] or [
        "- schema, versions, digests, DVC remote, gates, order, canary: pass"
    ]
    return "\n".join(lines) + "\n"
