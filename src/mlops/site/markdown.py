"""A small Markdown-to-HTML converter for the text this project writes itself: model cards
(``mlops.model.card``) and drift summaries (``drift.md``).

It covers what those use: ATX headings, paragraphs, ``-`` and ``1.`` lists, pipe tables with
alignment, fenced code, inline code, bold, italics and links. Everything is HTML-escaped first,
so a tag message cannot inject markup into the page. With ``links=False`` (a model card: text
from a tag message, which anyone who can push a tag writes) a link is shown as its text only,
never as an anchor. No dependency, no network.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|(?<![\w])_(?P<em>[^_]+?)_(?![\w])"
    r"|\[(?P<text>[^\]]+)\]\((?P<href>[^)\s]+)\)"
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_ORDERED = re.compile(r"^\d+\.\s+")
_BULLET = re.compile(r"^[-*]\s+")
_SAFE_HREF = re.compile(r"^(https?://|#|[\w./-]+$)")


@lru_cache(maxsize=1 << 16)  # cards repeat most of their lines from one version to the next
def inline(text: str, links: bool = True) -> str:
    """One line of Markdown as escaped HTML with code, bold, italics and (``links``) links."""
    out, pos = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[pos : match.start()]))
        pos = match.end()
        if match["code"] is not None:
            out.append(f"<code>{html.escape(match['code'])}</code>")
        elif match["bold"] is not None:
            out.append(f"<strong>{inline(match['bold'], links)}</strong>")
        elif match["em"] is not None:
            out.append(f"<em>{inline(match['em'], links)}</em>")
        elif not links:
            out.append(inline(match["text"], links))
        elif _SAFE_HREF.match(match["href"]):
            out.append(f'<a href="{html.escape(match["href"])}">{inline(match["text"])}</a>')
        else:
            out.append(html.escape(match[0]))
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _align(spec: str) -> str:
    spec = spec.strip()
    if spec.startswith(":") and spec.endswith(":"):
        return ' class="c"'
    return ' class="num"' if spec.endswith(":") else ""


def _table(lines: list[str], links: bool) -> str:
    header, aligns = _cells(lines[0]), [_align(s) for s in _cells(lines[1])]
    head = "".join(f'<th scope="col">{inline(c, links)}</th>' for c in header)
    rows = [
        "<tr>"
        + "".join(
            f"<td{aligns[i] if i < len(aligns) else ''}>{inline(c, links)}</td>"
            for i, c in enumerate(_cells(line))
        )
        + "</tr>"
        for line in lines[2:]
    ]
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _is_table_start(lines: list[str], i: int) -> bool:
    return (
        lines[i].lstrip().startswith("|")
        and i + 1 < len(lines)
        and set(lines[i + 1].replace("|", "").strip()) <= set(":- ")
        and "-" in lines[i + 1]
    )


def _take(lines: list[str], i: int, keep) -> tuple[list[str], int]:
    block = []
    while i < len(lines) and keep(lines[i]):
        block.append(lines[i])
        i += 1
    return block, i


def to_html(text: str, shift: int = 0, links: bool = True) -> str:
    """Markdown ``text`` as HTML; ``shift`` demotes headings (a card's ``#`` inside a page);
    ``links=False`` shows each link as its text only (text nobody reviewed)."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
        elif stripped.startswith("```"):
            block, i = _take(lines, i + 1, lambda s: not s.strip().startswith("```"))
            out.append(f"<pre><code>{html.escape(chr(10).join(block))}</code></pre>")
            i += 1
        elif heading := _HEADING.match(stripped):
            level = min(len(heading[1]) + shift, 6)
            out.append(f"<h{level}>{inline(heading[2], links)}</h{level}>")
            i += 1
        elif _is_table_start(lines, i):
            block, i = _take(lines, i, lambda s: s.lstrip().startswith("|"))
            out.append(_table(block, links))
        elif stripped.startswith(("- ", "* ")) or _ORDERED.match(stripped):
            ordered = bool(_ORDERED.match(stripped))
            marker = _ORDERED if ordered else _BULLET
            block, i = _take(lines, i, lambda s, m=marker: bool(m.match(s.strip())))
            items = "".join(
                f"<li>{inline(marker.sub('', s.strip(), count=1), links)}</li>" for s in block
            )
            tag = "ol" if ordered else "ul"
            out.append(f"<{tag}>{items}</{tag}>")
        else:
            rest, i = _take(lines, i + 1, lambda s: bool(s.strip()) and not _starts_block(s))
            block = [line, *rest]
            out.append(f"<p>{inline(' '.join(s.strip() for s in block), links)}</p>")
    return "\n".join(out)


def _starts_block(line: str) -> bool:
    s = line.strip()
    return s.startswith(("```", "#", "|", "- ", "* ")) or bool(_ORDERED.match(s))
