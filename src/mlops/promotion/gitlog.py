"""Reading Git history the way Git's own tools mean it, safe against whatever a commit holds.

Records are NUL-separated (``git log -z`` with ``%x00`` between fields): a commit message cannot
hold a NUL, so no text inside one can forge a field or a record. Bytes are decoded tolerantly
(invalid UTF-8 becomes U+FFFD), and a record that still does not have the expected shape is a
``HistoryError`` naming it, never a Python exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlops.core import tools
from mlops.core.errors import MlopsError

_FIELDS = ["%H", "%P", "%aI", "%an <%ae>", "%cI", "%cn <%ce>", "%s", "%b"]
_SHA = re.compile(r"^[0-9a-f]{40}$")


class HistoryError(MlopsError):
    """Git history cannot be read as needed (a shallow clone, a malformed record)."""


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


def decode(data: bytes) -> str:
    """Tolerant decoding: a byte that is not UTF-8 never stops a reader of history."""
    return data.decode("utf-8", errors="replace")


def require_full_history(root: str | Path) -> None:
    """Refuse a shallow clone: its history stops at the cut, so "what was live" is unknowable."""
    shallow = tools.git("rev-parse", "--is-shallow-repository", cwd=root)
    if shallow == "true":
        raise HistoryError(
            f"{Path(root).resolve()} is a shallow clone: Git history stops at the cut, so what "
            "was live before it is unknown. Fetch the whole history with "
            "`git fetch --unshallow origin` (GitHub Actions: actions/checkout with "
            "`fetch-depth: 0`) and run the command again"
        )


def _commit(fields: list[str]) -> Commit:
    sha, parents, time, author, committed, committer, subject, body = fields
    if not _SHA.match(sha) or not all(_SHA.match(p) for p in parents.split()):
        raise HistoryError(
            f"git log record near commit {sha[:40]!r} is malformed (a commit object holding "
            "bytes Git itself never writes?); inspect it with `git cat-file -p`"
        )
    parts = tuple(parents.split())
    return Commit(sha, parts, time, author, committed, committer, subject, body.strip())


def read_commits(root: str | Path, rev: str = "HEAD") -> list[Commit]:
    """Every commit reachable from ``rev``, newest first (``rev`` itself first)."""
    fmt = "%x00".join(_FIELDS)
    out = decode(tools.run_bytes(["git", "log", "-z", f"--format={fmt}", rev], cwd=root).stdout)
    tokens = out.split("\0")
    if tokens and tokens[-1] == "":
        tokens.pop()
    width = len(_FIELDS)
    if len(tokens) % width:
        raise HistoryError(
            f"`git log {rev}` printed {len(tokens)} fields, not a multiple of {width}: a commit "
            "object holds a NUL byte; find it with `git log --format='%H %s'`"
        )
    return [_commit(tokens[i : i + width]) for i in range(0, len(tokens), width)]


def blob_ids(root: str | Path, commits: list[str], path: str) -> dict[str, str | None]:
    """commit -> the blob id of ``path`` in it (None: absent); one `git cat-file --batch-check`."""
    if not commits:
        return {}
    lines = "".join(f"{sha}:{path}\n" for sha in commits)
    proc = tools.run_bytes(["git", "cat-file", "--batch-check"], cwd=root, stdin=lines)
    answers = decode(proc.stdout).splitlines()
    ids = {}
    for sha, answer in zip(commits, answers, strict=True):
        blob, _, kind = answer.partition(" ")
        ids[sha] = blob if kind.startswith("blob ") else None
    return ids


def read_blobs(root: str | Path, blobs: set[str]) -> dict[str, bytes]:
    """The bytes of each blob, read by one `git cat-file --batch`."""
    if not blobs:
        return {}
    order = sorted(blobs)
    proc = tools.run_bytes(["git", "cat-file", "--batch"], cwd=root, stdin="\n".join(order) + "\n")
    data, pos, out = proc.stdout, 0, {}
    for blob in order:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        out[blob] = data[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
    return out


def first_parent_line(commits: list[Commit]) -> list[Commit]:
    """The first-parent chain from the newest commit back to the root: what the branch was,
    one state after another (merges as one step; what a side branch did on the way is not)."""
    by_sha = {c.sha: c for c in commits}
    line, commit = [], commits[0] if commits else None
    while commit is not None:
        line.append(commit)
        commit = by_sha.get(commit.parents[0]) if commit.parents else None
    return line


def is_ancestor(root: str | Path, older: str, newer: str) -> bool:
    proc = tools.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=root, check=False)
    return proc.returncode == 0
