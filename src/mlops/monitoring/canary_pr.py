"""A canary's verdict as a Git change: a branch with one commit of models.yaml (promote the
canary, or drop it), pushed and opened as a pull request whose body carries the statistics.

At most one verdict pull request is open per environment: while one is (its branch is on origin
and not merged into the base), a later run proposes nothing new and says which one is waiting.
Idempotent: a branch an earlier run pushed without its pull request gets the pull request.
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from pathlib import Path

from mlops.core import paths, tools
from mlops.formats import models_file
from mlops.monitoring import canary
from mlops.monitoring.sequential import PROMOTE, ROLLBACK

PR_ON = ("rollback", "promote", "both")


PR_ATTEMPTS = 3
PR_RETRY_SECONDS = 5.0


def _local_branch(root: Path, branch: str) -> bool:
    proc = tools.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=root, check=False
    )
    return proc.returncode == 0


def _on_origin(root: Path, branch: str) -> bool:
    proc = tools.run(
        ["git", "ls-remote", "--exit-code", "--heads", "origin", branch], cwd=root, check=False
    )
    return proc.returncode == 0


def _has_pull_request(root: Path, branch: str) -> bool:
    """A pull request from ``branch`` exists in any state: open, merged, or closed by a human
    (who must not see it reopened every hour)."""
    listing = ["gh", "pr", "list", "--head", branch, "--state", "all", "--json", "number"]
    return tools.run([*listing, "--jq", "length"], cwd=root).stdout.strip() not in ("", "0")


def _open_pr(root: Path, proposal, attempts: int | None = None, wait: float | None = None):
    """`gh pr create` for a pushed branch, retried: a transient API error must not leave a
    pushed rollback branch without its pull request."""
    from mlops.promotion import gitops

    attempts = attempts or PR_ATTEMPTS
    wait = PR_RETRY_SECONDS if wait is None else wait
    command = gitops.pr_command(proposal)
    for attempt in range(1, attempts + 1):
        proc = tools.run(command, cwd=root, check=False)
        if proc.returncode == 0:
            return dataclasses.replace(proposal, pushed=True, pr_url=proc.stdout.strip())
        if attempt < attempts:
            time.sleep(wait * attempt)
    raise canary.CanaryError(
        f"pushed {proposal.branch}, but `gh pr create` failed {attempts} times "
        f"({(proc.stderr or proc.stdout).strip()}); the next `mlops canary --open-pr` opens it, "
        f"or run: {shlex.join(command)}"
    )


def _push_and_open(root: Path, proposal):
    """Push the proposal's branch and open its pull request (retried, see ``_open_pr``)."""
    from mlops.promotion import gitops

    tools.git("push", "-q", "-u", "origin", proposal.branch, cwd=root)
    pushed = dataclasses.replace(proposal, pushed=True)
    if not gitops.gh_ready():
        return dataclasses.replace(pushed, next_command=shlex.join(gitops.pr_command(pushed)))
    return _open_pr(root, pushed)


def _finish_earlier(root: Path, branch: str):
    """An earlier run made ``branch``. If it reached origin but its pull request never opened
    (`gh pr create` failed after the push), open it now; otherwise there is nothing to do."""
    from mlops.promotion import gitops

    if not (_on_origin(root, branch) and gitops.gh_ready()) or _has_pull_request(root, branch):
        return None
    tools.git("fetch", "-q", "origin", f"refs/heads/{branch}", cwd=root)
    subject, _, body = tools.git(
        "log", "-1", "--format=%s%x00%b", "FETCH_HEAD", cwd=root
    ).partition("\0")
    commit = tools.git("rev-parse", "FETCH_HEAD", cwd=root)
    base = gitops.current_branch(root)
    proposal = gitops.Proposal(branch, base, commit, subject, body.strip(), pushed=True)
    return _open_pr(root, proposal)


def branch_for(analysis: canary.Analysis) -> str:
    if analysis.verdict == PROMOTE:
        return f"promote/{analysis.env}-{analysis.canary.version}"
    return f"rollback/{analysis.env}-canary-{analysis.canary.version}"


def _verdict_patterns(env: str) -> list[str]:
    return [f"refs/heads/rollback/{env}-canary-*", f"refs/heads/promote/{env}-*"]


def open_elsewhere(root: Path, env: str, branch: str) -> str | None:
    """Another verdict branch for ``env`` on origin whose commit the base has not merged (an
    open pull request), or None."""
    proc = tools.run(["git", "ls-remote", "--heads", "origin", *_verdict_patterns(env)],
                     cwd=root, check=False)  # fmt: skip
    base = tools.run(["git", "rev-parse", "--verify", "--quiet", "origin/main"], cwd=root,
                     check=False).stdout.strip()  # fmt: skip
    for line in proc.stdout.splitlines() if proc.returncode == 0 else []:
        sha, _, ref = line.partition("\t")
        other = ref.removeprefix("refs/heads/")
        if other == branch:
            continue
        tools.run(["git", "fetch", "-q", "origin", ref], cwd=root, check=False)
        merged = base and tools.run(["git", "merge-base", "--is-ancestor", sha, base],
                                    cwd=root, check=False).returncode == 0  # fmt: skip
        if not merged and not _closed(root, other):
            return other
    return None


def _closed(root: Path, branch: str) -> bool:
    """A pull request from ``branch`` exists and is closed (only where `gh` can tell)."""
    from mlops.promotion import gitops

    if not gitops.gh_ready():
        return False
    listing = ["gh", "pr", "list", "--head", branch, "--state", "closed", "--json", "number"]
    return tools.run([*listing, "--jq", "length"], cwd=root).stdout.strip() not in ("", "0")


def propose(
    root: Path,
    analysis: canary.Analysis,
    deployment: models_file.Deployment,
    model: str | None = None,
    push: bool = True,
    pr_on: str = "both",
    statistics: str = "",
):
    """Make the verdict a Git change the way `mlops promote` / `mlops rollback` do: a branch,
    one commit of models.yaml (its message carries ``statistics``, the analysis in markdown),
    the same checks as the PR check, then (``push``) a push and `gh pr create` (retried).
    Returns the proposal, or None when the verdict asks for no change, the change was proposed
    already, or another verdict for the environment is still open (``analysis.notes`` says)."""
    from mlops.promotion import promote

    if analysis.verdict not in (PROMOTE, ROLLBACK) or pr_on not in ("both", analysis.verdict):
        return None
    branch = branch_for(analysis)
    if _local_branch(root, branch) or _on_origin(root, branch):
        return _finish_earlier(root, branch) if push else None
    waiting = open_elsewhere(root, analysis.env, branch)
    if waiting:
        analysis.notes.append(f"no new pull request: {waiting} is still open for {analysis.env}")
        return None
    body = statistics or "\n".join(f"- {r}" for r in analysis.reasons)
    version = analysis.canary.version
    if analysis.verdict == PROMOTE:
        message = f"mlops canary: the canary passed.\n\n{body}"
        proposal = promote.promote(root, analysis.env, version, push=False, model=model,
                                   message=message)  # fmt: skip
    else:
        text = models_file.with_deployment(
            (root / paths.MODELS_FILE).read_text(), analysis.env,
            dataclasses.replace(deployment, canary=None), model,
        )  # fmt: skip
        subject = (
            f"rollback {analysis.env}: drop canary {version} "
            f"(back to {deployment.stable.version} only)"
        )
        body = f"mlops canary: verdict rollback for {version} at {analysis.traffic} %.\n\n{body}"
        proposal = promote.propose(root, analysis.env, text, subject, body, branch, False)
    return _push_and_open(root, proposal) if push else proposal
