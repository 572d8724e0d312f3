"""The Git moves of a promotion: a branch, one commit of models.yaml, a push, a pull request."""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlops.core import paths, tools
from mlops.core.errors import MlopsError
from mlops.kube import render


class GitStateError(MlopsError):
    """The repository is not in a state where the tool can make its commit."""


@dataclass(frozen=True)
class Proposal:
    """A commit on a new branch, ready to become a pull request."""

    branch: str
    base: str
    commit: str
    subject: str
    body: str
    pushed: bool = False
    pr_url: str | None = None
    next_command: str | None = None


def head(root: str | Path) -> str:
    return tools.git("rev-parse", "HEAD", cwd=root)


def current_branch(root: str | Path) -> str:
    return tools.git("rev-parse", "--abbrev-ref", "HEAD", cwd=root)


def require_clean_models_file(root: str | Path) -> None:
    proc = tools.run(
        ["git", "diff", "--quiet", "HEAD", "--", paths.MODELS_FILE], cwd=root, check=False
    )
    if proc.returncode:
        raise GitStateError(
            f"{paths.MODELS_FILE} has uncommitted changes; "
            f"commit or `git restore {paths.MODELS_FILE}` "
            "first, so the promotion commit holds exactly one change"
        )


def branch_exists(root: str | Path, branch: str) -> bool:
    proc = tools.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=root, check=False
    )
    return proc.returncode == 0


def merged(root: str | Path, branch: str) -> bool:
    """Every commit of ``branch`` is in HEAD."""
    proc = tools.run(["git", "merge-base", "--is-ancestor", branch, "HEAD"], cwd=root, check=False)
    return proc.returncode == 0


def commit_models_file(
    root: str | Path, branch: str, text: str, subject: str, body: str
) -> Proposal:
    """Create ``branch`` at HEAD, write models.yaml, commit it; the user is left on the branch.
    A branch of that name already merged into HEAD (the same promotion proposed again after a
    rollback) is moved to HEAD: nothing on it is lost. Any other is refused."""
    root = Path(root)
    if branch_exists(root, branch) and not merged(root, branch):
        raise GitStateError(
            f"branch {branch!r} already exists; delete it (`git branch -D {branch}`) or merge it"
        )
    base = current_branch(root)
    tools.git("switch", "-q", "-C", branch, cwd=root)
    (root / paths.MODELS_FILE).write_text(text)
    try:
        files = [paths.MODELS_FILE, *render.write(root)]  # deploy/ changes in the same commit
    except MlopsError:
        tools.git("checkout", "-q", "--", paths.MODELS_FILE, cwd=root)
        tools.git("switch", "-q", base, cwd=root)
        tools.git("branch", "-q", "-D", branch, cwd=root)
        raise
    tools.git("add", "-A", "--", *files, cwd=root)
    tools.git("commit", "-q", "-m", subject, "-m", body, "--", *files, cwd=root)
    return Proposal(branch, base, head(root), subject, body)


def gh_ready() -> bool:
    """`gh` is installed and logged in."""
    if shutil.which("gh") is None:
        return False
    return tools.run(["gh", "auth", "status"], check=False).returncode == 0


def pr_command(proposal: Proposal) -> list[str]:
    return [
        "gh", "pr", "create", "--base", proposal.base, "--head", proposal.branch,
        "--title", proposal.subject, "--body", proposal.body,
    ]  # fmt: skip


def push(root: str | Path, proposal: Proposal, remote: str = "origin") -> Proposal:
    """Push the branch; open the PR with `gh` where it can, else say the exact next command."""
    tools.git("push", "-q", "-u", remote, proposal.branch, cwd=root)
    command = pr_command(proposal)
    if gh_ready():
        url = tools.run(command, cwd=root).stdout.strip()
        return Proposal(**{**proposal.__dict__, "pushed": True, "pr_url": url})
    return Proposal(**{**proposal.__dict__, "pushed": True, "next_command": shlex.join(command)})


def next_steps(proposal: Proposal) -> str:
    if proposal.pr_url:
        return f"opened {proposal.pr_url}"
    if proposal.pushed:
        return f"pushed {proposal.branch}; open the pull request with:\n  {proposal.next_command}"
    return (
        f"committed on branch {proposal.branch}; push it and open a pull request with:\n"
        f"  git push -u origin {proposal.branch}\n  {shlex.join(pr_command(proposal))}\n"
        f"(or run the same command again with --push)"
    )
