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

from pathlib import Path

from mlops.core import paths
from mlops.core.errors import ConfigError, MlopsError
from mlops.core.tools import default_base
from mlops.formats import environments, models_file
from mlops.formats.models_file import ModelsFile
from mlops.kube import render
from mlops.model import registry
from mlops.promotion import audit, ledger, policy, shadow_policy
from mlops.promotion import candidate as candidates
from mlops.promotion.plan import EnvPlan, Report, identity, kind, pins
from mlops.promotion.plan_markdown import markdown
from mlops.quality import champion, gates


class CheckFailed(MlopsError):
    """models.yaml failed one or more checks; the message lists them all."""

    exit_code = 1


def _load_base(root: str | Path, base: str) -> ModelsFile:
    try:
        return models_file.load_at(base, root)
    except ConfigError:
        return ModelsFile()  # no (valid) models.yaml at base: everything is new


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
            identity(c.after.stable)
            for c in self.history()
            if (env is None or c.env == env) and c.model == model and c.after
        }
        bases = self.base.models.get(model, {})
        return live | {identity(d.stable) for e, d in bases.items() if env in (None, e)}

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
                for _, pin in pins(dep):
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
                for prefix, pin in pins(dep):
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
        plan = EnvPlan(model, env, before, after, kind(before, after, previously))
        plan.live = self.registered[model].get(before.stable.version) if before else None
        if plan.kind == "removal":
            self.check_removal(plan)
        if plan.kind in ("unchanged", "removal") or env not in self.known_envs:
            return plan
        config = policy.config(self.root, env, self.base_rev, self.rev)
        self.check_canary(plan, config)
        self.report.failures.extend(shadow_policy.problems(plan, config))
        for _, pin in pins(after):
            version = self.registered[model].get(pin.version)
            if version is None or (before and pin in [p for _, p in pins(before)]):
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
        if not config.requires or identity(version) in previously:
            return
        if identity(version) not in self.ever_live(plan.model, config.requires):
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
        rollback = identity(version) in previously
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
