"""The HTML pieces every section of the registry page is built from: escaped text, times in UTC,
links to commits, pull requests and versions."""

from __future__ import annotations

import html
from datetime import UTC, datetime


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


def when(iso: str | None) -> str:
    """A Git timestamp, shown in UTC to the minute (authors' offsets differ)."""
    if not iso:
        return "—"
    try:
        shown = datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        shown = iso[:16].replace("T", " ")
    return f'<time datetime="{esc(iso)}">{esc(shown)}</time>'


class Links:
    """Commit and PR references, linked to GitHub when the origin is there."""

    def __init__(self, repo_url: str | None):
        self.repo_url = repo_url

    def commit(self, sha: str | None) -> str:
        if not sha:
            return "—"
        code = f"<code>{esc(sha[:10])}</code>"
        if self.repo_url:
            return f'<a href="{esc(self.repo_url)}/commit/{esc(sha)}">{code}</a>'
        return f'<code title="{esc(sha)}">{esc(sha[:10])}</code>'

    def pr(self, number: int | None) -> str:
        if not number:
            return "—"
        if self.repo_url:
            return f'<a href="{esc(self.repo_url)}/pull/{number}">#{number}</a>'
        return f"#{number}"


def version_link(version: str | None) -> str:
    if not version:
        return "none"
    return f'<a href="#version-{esc(version)}">{esc(version)}</a>'
