"""The audit trail: every change of models.yaml in Git history, one row per environment changed.

One ``git log`` call lists commits with the blobs of models.yaml before and after; one
``git cat-file --batch`` call reads those blobs; each distinct blob is parsed once with the one
loader (``models_file.parse``). PR numbers come from merge commits ("Merge pull request #12 ...")
or squash subjects ("... (#12)"); reverts are rows of kind ``rollback`` naming what they revert.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from mlops import models_file, paths, tools
from mlops.errors import ConfigError
from mlops.models_file import Deployment, ModelsFile

_RS, _US = "\x1e", "\x1f"
_FORMAT = _RS + _US.join(["%H", "%P", "%aI", "%an <%ae>", "%cI", "%cn <%ce>", "%s", "%b"]) + _US
_NULL = "0" * 40
_MERGE_PR = re.compile(r"^Merge pull request #(\d+)")
_SQUASH_PR = re.compile(r"\(#(\d+)\)\s*$")
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,40})")


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    time: str
    author: str
    committed: str
    committer: str
    subject: str
    body: str
    old_blob: str | None = None  # models.yaml before this commit (None: absent or unchanged)
    new_blob: str | None = None


@dataclass(frozen=True)
class Change:
    """One environment changed by one commit."""

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


def describe(dep: Deployment | None) -> str:
    if dep is None:
        return "none"
    if dep.canary is None:
        return dep.stable.version
    return f"{dep.stable.version} + canary {dep.canary.version} at {dep.canary.traffic}%"


# --- reading history ------------------------------------------------------------------------


def _raw_blobs(raw: str) -> tuple[str | None, str | None]:
    for line in raw.splitlines():
        meta, _, path = line.partition("\t")
        if path == paths.MODELS_FILE and meta.startswith(":"):
            _, _, old, new, _ = meta[1:].split(" ", 4)
            return (None if old == _NULL else old), (None if new == _NULL else new)
    return None, None


def read_log(root: str | Path, rev: str = "HEAD") -> list[Commit]:
    """Every commit reachable from ``rev``, newest first, with models.yaml's blobs where changed."""
    out = tools.git(
        "log", f"--format={_FORMAT}", "--raw", "--no-abbrev", "--no-renames", rev, cwd=root
    )
    commits = []
    for record in out.split(_RS)[1:]:
        sha, parents, time, author, committed, committer, subject, body, raw = record.split(_US, 8)
        old, new = _raw_blobs(raw) if " " not in parents else (None, None)
        commits.append(
            Commit(
                sha,
                tuple(parents.split()),
                time,
                author,
                committed,
                committer,
                subject,
                body.strip(),
                old,
                new,
            )
        )
    return commits


def read_blobs(root: str | Path, blobs: set[str]) -> dict[str, str]:
    """The text of each blob, read by one `git cat-file --batch`."""
    if not blobs:
        return {}
    order = sorted(blobs)
    proc = tools.run_bytes(["git", "cat-file", "--batch"], cwd=root, stdin="\n".join(order) + "\n")
    texts, data, pos = {}, proc.stdout, 0
    for blob in order:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        texts[blob] = data[header_end + 1 : header_end + 1 + size].decode()
        pos = header_end + 1 + size + 1
    return texts


def _parse_blob(text: str, source: str) -> ModelsFile | None:
    try:
        return models_file.parse(text, source, fast=True)
    except ConfigError:
        return None  # an invalid file in history: shown as "none" on that side


# --- PR numbers -----------------------------------------------------------------------------


def pull_requests(commits: list[Commit]) -> dict[str, int]:
    """commit -> PR number: squash subjects "(#N)", and every commit a "Merge pull request #N"
    merge brought into the first-parent line."""
    by_sha = {c.sha: c for c in commits}
    mainline, sha = [], commits[0].sha if commits else None
    while sha in by_sha:
        mainline.append(sha)
        parents = by_sha[sha].parents
        sha = parents[0] if parents else None
    on_mainline, prs = set(mainline), {}
    for sha in reversed(mainline):  # oldest first, so a PR claims only its own commits
        commit = by_sha[sha]
        squash = _SQUASH_PR.search(commit.subject)
        if squash and len(commit.parents) == 1:
            prs[sha] = int(squash.group(1))
        merge = _MERGE_PR.match(commit.subject)
        if not merge or len(commit.parents) < 2:
            continue
        prs[sha] = int(merge.group(1))
        stack = list(commit.parents[1:])
        while stack:
            current = stack.pop()
            if current in prs or current in on_mainline or current not in by_sha:
                continue
            prs[current] = int(merge.group(1))
            stack.extend(by_sha[current].parents)
    return prs


# --- the trail ------------------------------------------------------------------------------


def _find(by_sha: dict[str, Commit], prefix: str) -> Commit | None:
    if prefix in by_sha:
        return by_sha[prefix]
    return next((c for sha, c in by_sha.items() if sha.startswith(prefix)), None)


def _changes(commit: Commit, before: ModelsFile | None, after: ModelsFile | None, pr, by_sha):
    reverted = _REVERTS.search(commit.body)
    target = _find(by_sha, reverted.group(1)) if reverted else None
    models = dict.fromkeys([*(before.models if before else {}), *(after.models if after else {})])
    for model in models:
        old_envs = before.models.get(model, {}) if before else {}
        new_envs = after.models.get(model, {}) if after else {}
        for env in dict.fromkeys([*old_envs, *new_envs]):
            if old_envs.get(env) == new_envs.get(env):
                continue
            yield Change(
                time=commit.time,
                author=commit.author,
                committer=commit.committer,
                pr=pr,
                model=model,
                env=env,
                before=old_envs.get(env),
                after=new_envs.get(env),
                commit=commit.sha,
                subject=commit.subject,
                message=commit.body,
                kind="rollback" if reverted else "promotion",
                reverts=(target.sha if target else reverted.group(1)) if reverted else None,
                reverts_subject=target.subject if target else None,
            )


def history(root: str | Path = ".", rev: str = "HEAD", env: str | None = None) -> list[Change]:
    """Every change of models.yaml reachable from ``rev``, oldest first."""
    commits = read_log(root, rev)
    by_sha = {c.sha: c for c in commits}
    prs = pull_requests(commits)
    touched = [c for c in commits if c.old_blob or c.new_blob]
    texts = read_blobs(root, {b for c in touched for b in (c.old_blob, c.new_blob) if b})
    parsed = {
        blob: _parse_blob(text, f"{blob[:10]}:{paths.MODELS_FILE}") for blob, text in texts.items()
    }
    out = []
    for commit in reversed(touched):
        before = parsed.get(commit.old_blob) if commit.old_blob else None
        after = parsed.get(commit.new_blob) if commit.new_blob else None
        pr = prs.get(commit.sha)
        out.extend(_changes(commit, before, after, pr, by_sha))
    return [c for c in out if env is None or c.env == env]


def ever_live(root: str | Path, env: str, rev: str = "HEAD") -> set[str]:
    """Versions that were ever the stable version of ``env`` in models.yaml up to ``rev``."""
    live = {c.after.stable.version for c in history(root, rev, env) if c.after}
    return live


def latest_change(root: str | Path, env: str, rev: str = "HEAD") -> Change | None:
    changes = history(root, rev, env)
    return changes[-1] if changes else None


# --- rendering ------------------------------------------------------------------------------


def _what(change: Change) -> str:
    if change.kind == "rollback":
        named = change.reverts_subject or change.reverts[:10]
        return f"rollback (reverts {change.reverts[:10]}: {named})"
    return change.subject


def table(changes: list[Change]) -> str:
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
            _what(c),
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
