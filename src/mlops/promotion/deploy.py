"""`mlops deploy`: reconcile each environment's server to models.yaml at HEAD.

First everything that can fail without touching a server: resolve each pinned version, check its
digest against the registry, fetch the artifact from the DVC remote and verify its sha256, and ask
every target for its `/version`. Only then `POST /-/sync` each target and wait until its
`/version` reports HEAD's commit (or a later one), the pinned versions, and `Synced`. A target
that already serves HEAD's state is left alone, so a second run changes nothing.

A target may report a commit this clone has not fetched yet (someone pushed to main meanwhile):
it is fetched, and a descendant of HEAD counts as deployed. And the desired state must pass
`mlops check` against the state the targets were at before, so a direct push to main cannot
deploy what a pull request could not merge.

Where to deploy is never taken from the change being deployed: each target's ``serving`` comes
from the environment file at HEAD's first parent (the state already on main before it), so a
change of ``serving.url`` (a policy change, listed by `mlops check`) takes effect from the next
deploy, and the sync token never goes to a URL the change itself introduced.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mlops.core import paths, tools
from mlops.core.errors import MlopsError
from mlops.formats import environments, models_file
from mlops.formats.models_file import Deployment
from mlops.kube import status as kube_status
from mlops.model import registry
from mlops.model.registry import cache_dir
from mlops.promotion import audit, check, gitlog, ledger, target
from mlops.promotion.plan import pins

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


class DeployError(MlopsError):
    """A deploy could not start or did not finish; the message says where and why."""


@dataclass
class EnvResult:
    env: str
    url: str
    desired: Deployment | None
    before: str
    after: str
    outcome: str  # deployed, unchanged
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "env": self.env,
            "url": self.url,
            "desired": audit.describe(self.desired),
            "before": self.before,
            "after": self.after,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 2),
        }


def _targets(root: Path, state: models_file.ModelsFile, env: str | None) -> list[str]:
    if env:
        environments.load(env, root)  # unknown environment: refused by name
        return [env]
    return list(state.models.get(state.default_model(), {}))


def deployed_config(root: Path, name: str, log) -> environments.Environment:
    """``name``'s environment as main had it before HEAD (see the module); an environment
    HEAD itself adds has no deployed state, so its own file is used, and said."""
    now = environments.load(name, root)
    if not _known(root, "HEAD^1"):
        return now
    before = environments.load_at(name, "HEAD^1", root)
    if before is None:
        log(f"{name}: added by this change; its target is {now.serving.url}")
        return now
    if before.serving != now.serving:
        log(
            f"{name}: serving changes in this change ({before.serving.url} → {now.serving.url}); "
            f"deploying to the deployed target {before.serving.url}, the new one from the next "
            "deploy on"
        )
    return dataclasses.replace(now, serving=before.serving)


def verify_artifacts(
    root: Path, model: str, env: str, desired: Deployment | None, records=None
) -> None:
    """Resolve, fetch and verify every pinned artifact of ``env`` (cached by digest); a tag
    that is no longer what models.yaml recorded at its first promotion is refused."""
    for _, pin in pins(desired) if desired else []:
        version = registry.get_version(root, model, pin.version)
        recorded = (records or {}).get(version.tag)
        problem = ledger.drift(version.tag, recorded, version) if recorded else None
        if problem:
            raise DeployError(f"{env}: {problem}. Nothing was deployed")
        if pin.digest != version.digest:
            raise DeployError(
                f"models.yaml at HEAD: {env} pins {pin.version} with {pin.digest}, but "
                f"{version.tag} is registered with {version.digest}; nothing was deployed"
            )
        if registry.missing_from_remote(root, [version]):
            raise DeployError(
                f"{env}: {version.tag}'s artifact (md5 {version.metadata.get('md5')}) "
                "is not in the DVC remote, so the server could not fetch it; run `dvc push` at "
                f"{version.commit[:10]}. Nothing was deployed"
            )
        registry.fetch_artifact(root, version, cache_dir())


def _known(root: Path, commit: str) -> bool:
    proc = tools.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=root, check=False)
    return proc.returncode == 0


def _fetch_commit(root: Path, commit: str) -> bool:
    """Make ``commit`` (reported by a target) known here: fetch origin when it is not."""
    if _known(root, commit):
        return True
    tools.run(["git", "fetch", "--quiet", "origin"], cwd=root, check=False)
    return _known(root, commit)


def _is_ancestor(root: Path, older: str, newer: str | None) -> bool:
    if not newer or not _fetch_commit(root, newer):
        return False
    return gitlog.is_ancestor(root, older, newer)


def _done(root: Path, live: target.Live, commit: str, desired: Deployment | None) -> bool:
    at_commit = live.commit == commit or _is_ancestor(root, commit, live.commit)
    return live.sync == "Synced" and live.serves(desired) and at_commit


def _where(live: target.Live, commit: str) -> str:
    if live.commit and live.commit != commit:
        return f"commit {live.commit[:10]}, a descendant of {commit[:10]}"
    return f"commit {commit[:10]}"


def _transition(name: str, before: target.Live, after: target.Live, commit: str) -> str:
    if before.describe() == after.describe():
        return f"{name}: {after.describe()} unchanged ({_where(after, commit)}, Synced)"
    return f"{name}: {before.describe()} → {after.describe()} ({_where(after, commit)}, Synced)"


def previous_states(root: Path, commit: str, lives: dict[str, target.Live]) -> set[str]:
    """The commits the targets were deployed at, as far as they precede ``commit`` (the first
    parent of ``commit`` when a target reports none this clone can place)."""
    bases = set()
    for live in lives.values():
        if live.commit == commit or _is_ancestor(root, commit, live.commit):
            continue
        if live.commit and _is_ancestor(root, live.commit, commit):
            bases.add(live.commit)
        elif _known(root, f"{commit}^1"):
            bases.add(tools.git("rev-parse", f"{commit}^1", cwd=root))
    return bases


def require_checked(root: Path, commit: str, lives: dict[str, target.Live]) -> None:
    """Refuse a desired state `mlops check` refuses against the state deployed before it."""
    text = tools.git("show", f"{commit}:{paths.MODELS_FILE}", cwd=root)
    for base in sorted(previous_states(root, commit, lives)):
        report = check.evaluate(root, text, base, source=f"{commit[:10]}:models.yaml", rev=commit)
        if report.failures:
            listed = "\n".join(f"  - {f}" for f in report.failures)
            raise DeployError(
                f"models.yaml at {commit[:10]} fails `mlops check` against the deployed state "
                f"({base[:10]}), so a pull request could not have merged it; nothing was "
                f"deployed. Revert it on main or fix it in a pull request:\n{listed}"
            )


def _wait(root: Path, env: str, url: str, commit: str, desired, wait: float) -> target.Live:
    deadline = time.monotonic() + wait
    live = target.sync(url, timeout=max(wait, 5.0))
    while not _done(root, live, commit, desired):
        if live.sync == "Degraded":
            raise DeployError(
                f"{env} ({url}) is Degraded: {live.reason}; it keeps serving {live.describe()}"
            )
        if time.monotonic() > deadline:
            raise DeployError(
                f"{env} ({url}) did not reach commit {commit[:10]} Synced within {wait:.0f}s: "
                f"it reports "
                f"commit {(live.commit or '?')[:10]}, {live.sync}, serving {live.describe()}"
                f"{' (' + live.reason + ')' if live.reason else ''}. "
                "Is HEAD pushed to the ref the server "
                "reads (origin/main)?"
            )
        time.sleep(0.2)
        live = target.live(url)
    return live


def deploy(
    root: str | Path = ".", env: str | None = None, wait: float = 120.0, log=print
) -> list[EnvResult]:
    """Reconcile ``env`` (default: every environment in models.yaml at HEAD); see the module."""
    try:
        return _deploy(Path(root), env, wait, log)
    except MlopsError as exc:
        _append_summary(f"## Deploy failed\n\n{exc}\n")
        raise


def _deploy(root: Path, env: str | None, wait: float, log) -> list[EnvResult]:
    commit = tools.git("rev-parse", "HEAD", cwd=root)
    state = models_file.load_at("HEAD", root)
    model = state.default_model()
    names = _targets(root, state, env)
    configs = {name: deployed_config(root, name, log) for name in names}
    for name in names:
        try:
            verify_artifacts(root, model, name, state.deployment(name, model), state.registered)
        except DeployError:
            raise
        except MlopsError as exc:
            raise DeployError(f"{name}: {exc}. Nothing was deployed") from exc
        log(f"{name}: artifacts verified ({audit.describe(state.deployment(name, model))})")
    names = [n for n in names if not kube_status.skip_in_deploy(configs[n], log)]
    before = {}
    for name in names:
        try:
            before[name] = target.live(configs[name].serving.url)
        except target.TargetError as exc:
            raise DeployError(f"{name}: {exc}; nothing was deployed") from exc
    require_checked(root, commit, before)
    results = []
    for name in names:
        url, desired, started = (
            configs[name].serving.url,
            state.deployment(name, model),
            time.monotonic(),
        )
        if _done(root, before[name], commit, desired):
            results.append(
                EnvResult(
                    name,
                    url,
                    desired,
                    before[name].describe(),
                    before[name].describe(),
                    "unchanged",
                )
            )
            where = _where(before[name], commit)
            log(f"{name}: already serves {before[name].describe()} at {where}; nothing to do")
            continue
        after = _wait(root, name, url, commit, desired, wait)
        results.append(
            EnvResult(
                name,
                url,
                desired,
                before[name].describe(),
                after.describe(),
                "deployed",
                time.monotonic() - started,
            )
        )
        log(_transition(name, before[name], after, commit))
    write_summary(results, commit)
    return results


def markdown(results: list[EnvResult], commit: str) -> str:
    lines = [
        f"## Deploy of `{commit[:10]}`",
        "",
        "| environment | before | after | outcome | seconds |",
    ]
    lines.append("|---|---|---|---|---|")
    lines += [
        f"| {r.env} | {r.before} | {r.after} | {r.outcome} | {r.seconds:.1f} |" for r in results
    ]
    return "\n".join(lines) + "\n"


def write_summary(results: list[EnvResult], commit: str) -> None:
    _append_summary(markdown(results, commit))


def _append_summary(text: str) -> None:
    path = os.environ.get(SUMMARY_ENV)
    if path:
        with open(path, "a") as handle:
            handle.write(text)
