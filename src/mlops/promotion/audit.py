"""The audit trail: every change of models.yaml on the first-parent line of the branch, one row
per environment changed.

The first-parent line is what the branch was, one state after another: a pull request merged
with `--no-ff` is one step (what its branch did on the way, e.g. a pin later reverted, never was
the branch's state), as `git log --first-parent` shows it. One NUL-separated ``git log``, one
``git cat-file --batch-check`` (models.yaml's blob in each commit of the line) and one
``git cat-file --batch`` read everything; each distinct blob is parsed once with the one loader
(``models_file.parse``). PR numbers come from merge commits ("Merge pull request #12 ...") or
squash subjects ("... (#12)"); reverts are rows of kind ``rollback`` naming what they revert.
A revision that does not parse is reported as a problem naming its commit, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlops.core import paths
from mlops.core.errors import ConfigError
from mlops.formats import models_file
from mlops.formats.models_file import Deployment, ModelsFile, describe
from mlops.promotion import gitlog
from mlops.promotion.gitlog import Commit

_MERGE_PR = re.compile(r"^Merge pull request #(\d+)")
_SQUASH_PR = re.compile(r"\(#(\d+)\)\s*$")
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,40})")


@dataclass(frozen=True)
class Change:
    """One environment changed by one commit of the base branch's first-parent line."""

    time: str
    author: str
    committer: str
    pr: int | None
    model: str
    env: str
    before: Deployment | None
    after: Deployment | None
    commit: str
    subject: str
    message: str
    kind: str  # "promotion" or "rollback"
    reverts: str | None = None
    reverts_subject: str | None = None

    @property
    def from_text(self) -> str:
        return describe(self.before)

    @property
    def to_text(self) -> str:
        return describe(self.after)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["before"] = self.before.to_dict() if self.before else None
        out["after"] = self.after.to_dict() if self.after else None
        out["from"], out["to"] = self.from_text, self.to_text
        return out


@dataclass
class Trail:
    """The audit trail of a branch, and the history it could not read (one line each)."""

    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# --- the first-parent line and what each of its commits brought in --------------------------


def brought_in(line: list[Commit], by_sha: dict[str, Commit]) -> dict[str, str]:
    """side commit -> the commit of ``line`` (a merge) that brought it into the branch."""
    on_line, owner = {c.sha for c in line}, {}
    for merge in reversed(line):  # oldest first, so a merge claims only its own commits
        stack = list(merge.parents[1:])
        while stack:
            sha = stack.pop()
            if sha in owner or sha in on_line or sha not in by_sha:
                continue
            owner[sha] = merge.sha
            stack.extend(by_sha[sha].parents)
    return owner


def pull_requests(commits: list[Commit]) -> dict[str, int]:
    """commit of the first-parent line -> PR number: "Merge pull request #N" merges and squash
    subjects "(#N)"."""
    prs = {}
    for commit in gitlog.first_parent_line(commits):
        merge = _MERGE_PR.match(commit.subject) if len(commit.parents) > 1 else None
        squash = _SQUASH_PR.search(commit.subject) if len(commit.parents) == 1 else None
        if merge or squash:
            prs[commit.sha] = int((merge or squash).group(1))
    return prs


class _Attribution:
    """Who made a change of the line and what it was: for a merge, the pull request's head
    commit; a revert is a rollback when it reverts an earlier commit of the line (a revert of
    a commit of the same pull request is not)."""

    def __init__(self, line: list[Commit], commits: list[Commit]):
        self.by_sha = {c.sha: c for c in commits}
        self.on_line = {c.sha for c in line}
        self.owner = brought_in(line, self.by_sha)
        self.side: dict[str, list[Commit]] = {}
        for sha, merge in self.owner.items():
            self.side.setdefault(merge, []).append(self.by_sha[sha])

    def head(self, commit: Commit) -> Commit:
        if len(commit.parents) > 1 and commit.parents[1] in self.by_sha:
            return self.by_sha[commit.parents[1]]
        return commit

    def _line_commit(self, prefix: str) -> str | None:
        sha = prefix if prefix in self.by_sha else None
        if sha is None:
            sha = next((s for s in self.by_sha if s.startswith(prefix)), None)
        if sha is None:
            return None
        return sha if sha in self.on_line else self.owner.get(sha)

    def reverts(self, commit: Commit) -> tuple[str, Commit | None] | None:
        """(reverted sha or prefix, the reverted commit of the line) when ``commit`` is a
        rollback of an earlier change of the line."""
        for candidate in [commit, *self.side.get(commit.sha, [])]:
            for prefix in _REVERTS.findall(candidate.body):
                target = self._line_commit(prefix)
                if target is None:
                    return prefix, None  # reverts a commit this history does not hold
                if target != commit.sha:
                    return target, self.by_sha[target]
        return None


# --- the states of models.yaml along the line -----------------------------------------------


def _parse(data: bytes, where: str) -> tuple[ModelsFile | None, str | None]:
    text = gitlog.decode(data)
    try:
        return models_file.parse(text, where, fast=True), None
    except ConfigError as exc:
        return None, str(exc)


def states(root: str | Path, line: list[Commit]) -> tuple[dict[str, ModelsFile], list[str]]:
    """commit of the line -> models.yaml in it. A revision that does not parse is one problem
    naming its commit, and the state before it is carried over (a server keeps serving the
    last state it could read)."""
    ids = gitlog.blob_ids(root, [c.sha for c in line], paths.MODELS_FILE)
    blobs = gitlog.read_blobs(root, {b for b in ids.values() if b})
    parsed, problems, out = {}, [], {}
    current = ModelsFile()
    for commit in reversed(line):
        blob = ids[commit.sha]
        if blob is None:
            current = ModelsFile()
        elif blob in parsed:
            current = parsed[blob] or current
        else:
            where = f"{commit.sha[:10]}:{paths.MODELS_FILE}"
            parsed[blob], error = _parse(blobs[blob], where)
            if error:
                problems.append(
                    f"commit {commit.sha[:10]} ({commit.subject[:60]!r}): {error}; "
                    "read as the state before it"
                )
            current = parsed[blob] or current
        out[commit.sha] = current
    return out, problems


# --- the trail ------------------------------------------------------------------------------


def _diff(before: ModelsFile, after: ModelsFile):
    for model in dict.fromkeys([*before.models, *after.models]):
        old_envs, new_envs = before.models.get(model, {}), after.models.get(model, {})
        for env in dict.fromkeys([*old_envs, *new_envs]):
            if old_envs.get(env) != new_envs.get(env):
                yield model, env, old_envs.get(env), new_envs.get(env)


def _changes(commit: Commit, before: ModelsFile, after: ModelsFile, pr, who: _Attribution):
    head = who.head(commit)
    reverted = who.reverts(commit)
    target = reverted[1] if reverted else None
    for model, env, old, new in _diff(before, after):
        yield Change(
            time=commit.time,
            author=head.author,
            committer=commit.committer,
            pr=pr,
            model=model,
            env=env,
            before=old,
            after=new,
            commit=commit.sha,
            subject=head.subject,
            message=head.body,
            kind="rollback" if reverted else "promotion",
            reverts=reverted[0] if reverted else None,
            reverts_subject=who.head(target).subject if target else None,
        )


def read(root: str | Path = ".", rev: str = "HEAD") -> Trail:
    """The changes of models.yaml along the first-parent line of ``rev``, oldest first: what
    was live, one state after another. A shallow clone is refused (its line is cut short)."""
    gitlog.require_full_history(root)
    commits = gitlog.read_commits(root, rev)
    line = gitlog.first_parent_line(commits)
    by_commit, problems = states(root, line)
    who, prs = _Attribution(line, commits), pull_requests(commits)
    trail, before = Trail(problems=problems), ModelsFile()
    for commit in reversed(line):
        after = by_commit[commit.sha]
        if after is not before:
            trail.changes.extend(_changes(commit, before, after, prs.get(commit.sha), who))
        before = after
    return trail


def history(root: str | Path = ".", rev: str = "HEAD", env: str | None = None) -> list[Change]:
    """Every change of models.yaml along the first-parent line of ``rev``, oldest first."""
    return [c for c in read(root, rev).changes if env is None or c.env == env]


def ever_live(root: str | Path, env: str, rev: str = "HEAD") -> set[str]:
    """Versions that were ever the stable version of ``env`` on the first-parent line."""
    return {c.after.stable.version for c in history(root, rev, env) if c.after}


def latest_change(root: str | Path, env: str, rev: str = "HEAD") -> Change | None:
    changes = history(root, rev, env)
    return changes[-1] if changes else None


# --- rendering ------------------------------------------------------------------------------


def _what(change: Change) -> str:
    if change.kind == "rollback":
        named = change.reverts_subject or change.reverts[:10]
        return f"rollback (reverts {change.reverts[:10]}: {named})"
    return change.subject


def table(changes: list[Change], notes: dict[str, str] | None = None) -> str:
    """``notes``: commit -> a mark put before the change's subject (a direct push's verdict)."""
    notes = notes or {}
    header = ["time", "env", "from", "to", "author", "committer", "PR", "commit", "what"]
    rows = [
        [
            c.time,
            c.env,
            c.from_text,
            c.to_text,
            c.author,
            c.committer,
            f"#{c.pr}" if c.pr else "-",
            c.commit[:10],
            notes.get(c.commit, "") + _what(c),
        ]
        for c in changes
    ]
    if not rows:
        return "no changes of models.yaml in history yet (`mlops promote ENV VERSION` makes one)"
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [str(v).ljust(w) for v, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]))
    return "\n".join(lines)
