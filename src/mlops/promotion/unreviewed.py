"""Changes of models.yaml that reached the branch without a pull request (a direct push).

The audit trail is what the branch said, one state after another; a state pushed straight to
main was never reviewed, and `mlops deploy` and the servers apply it only if it passes
`mlops check` against the state before it. So `mlops audit` and the registry page judge each
such change the same way (``check.evaluate`` with the policy of its parent commit) and say
which were refused, never showing a refused state as if it had been served. Only changes
without a pull request number are judged (rare, so the audit stays one pass over the history);
a root commit has no state before it and is not judged. A history merged without PR numbers
(rebase merges, another forge's merge subjects) would make every change one: only the latest
``LIMIT`` are judged, and the audit says how many older ones were not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlops.core import paths, tools
from mlops.promotion.audit import Trail

LIMIT = 10  # each judged change costs one `mlops check`


@dataclass(frozen=True)
class Unreviewed:
    commit: str
    subject: str
    envs: list[str]
    failures: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.failures)

    def describe(self) -> str:
        envs = ", ".join(self.envs)
        where = f"{self.commit[:10]} ({self.subject}) changed {envs} without a pull request"
        if not self.refused:
            return f"{where}: never reviewed; it passes `mlops check` against the state before it"
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return (
            f"{where} and fails `mlops check` against the state before it, so `mlops deploy` "
            f"and the servers never applied it: {self.failures[0]}{more}"
        )


def _parent(root: Path, commit: str) -> str | None:
    proc = tools.run(["git", "rev-parse", "--verify", "-q", f"{commit}^1"], cwd=root, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def pushes(trail: Trail) -> dict[str, list]:
    """commit -> its changes, for each commit of ``trail`` without a pull request (oldest first)."""
    by_commit: dict[str, list] = {}
    for change in trail.changes:
        if change.pr is None:
            by_commit.setdefault(change.commit, []).append(change)
    return by_commit


def judge(root: str | Path, trail: Trail, limit: int = LIMIT) -> list[Unreviewed]:
    """The latest ``limit`` commits of ``trail`` that changed models.yaml without a pull
    request, each judged by `mlops check` against its parent (oldest first)."""
    root = Path(root)
    judged = []
    for commit, changes in list(pushes(trail).items())[-limit:]:
        parent = _parent(root, commit)
        if parent is None:
            continue
        from mlops.promotion import check  # its imports only when there is a push to judge

        text = tools.run(["git", "show", f"{commit}:{paths.MODELS_FILE}"], cwd=root).stdout
        report = check.evaluate(root, text, parent, source=f"{commit[:10]}:models.yaml", rev=commit)
        envs = list(dict.fromkeys(c.env for c in changes))
        judged.append(Unreviewed(commit, changes[0].subject, envs, list(report.failures)))
    return judged


def head_refused(trail: Trail, judged: list[Unreviewed]) -> Unreviewed | None:
    """The refused direct push that is the branch's latest change of models.yaml, if any: the
    state the branch asks for now is one no server applies."""
    if not trail.changes:
        return None
    latest = trail.changes[-1].commit
    return next((u for u in judged if u.commit == latest and u.refused), None)


def notes(judged: list[Unreviewed]) -> dict[str, str]:
    """commit -> the short mark the audit table puts before the change's subject."""
    return {
        u.commit: "NOT APPLIED (refused by mlops check, no PR): " if u.refused else "(no PR) "
        for u in judged
    }


def not_judged(trail: Trail, limit: int = LIMIT) -> str | None:
    """A line saying how many older changes without a pull request were not judged, if any."""
    older = len(pushes(trail)) - limit
    if older <= 0:
        return None
    return (
        f"{older} older change(s) of models.yaml without a pull request were not judged (only "
        f"the latest {limit} are): `mlops check --base <its parent>` judges one"
    )
