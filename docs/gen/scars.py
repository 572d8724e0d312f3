"""Find merge scars in Markdown: what a careless merge of two edits of one page leaves behind.

    python docs/gen/scars.py README.md docs/*.md     # exit 1 listing each scar (`make lint`)

A scar is
- a table row whose key (first cell) repeats in a table whose keys are otherwise distinct
  (two versions of one row), or a row repeated whole;
- table rows with no header above them: a blank line split a table in two;
- a paragraph or list item repeated in the same file;
- a run of words repeated inside one paragraph or list item, or across two that follow each
  other (a half-sentence pasted twice).
Code blocks are left alone: examples may repeat on purpose.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

RUN = 10  # words: a repeated run this long inside one block is a pasted half-sentence
SIMILAR, SIMILAR_WORDS = 0.5, 8  # rows sharing a key and half their words are one row twice
MIN_PARAGRAPH = 60  # characters: shorter repeated lines ("Exit 0 ...") may be deliberate
SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each block between blank lines, outside code fences;
    a list item starts a block of its own."""
    out: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        item = re.match(r"^\s*([-*+]|\d+\.)\s", line) and not stripped.startswith("|")
        if not stripped or fence is not None or item:
            if current:
                out.append((start, current))
            current = []
            if not stripped or fence is not None:
                continue
        if not current:
            start = number
        current.append(line)
    if current:
        out.append((start, current))
    return out


def _cells(row: str) -> list[str]:
    return [" ".join(c.split()) for c in row.strip().strip("|").split("|")]


def table_scars(start: int, lines: list[str]) -> list[str]:
    rows = [(start + i, line) for i, line in enumerate(lines) if line.lstrip().startswith("|")]
    if not rows or len(rows) != len(lines):
        return []
    if len(rows) < 2 or not SEPARATOR.match(rows[1][1].strip()):
        return [f"{start}: table rows with no header: a blank line split a table?"]
    found: list[str] = []
    seen: dict[str, tuple[int, str]] = {}
    for number, line in rows[2:]:
        key, *rest = _cells(line)
        if key in seen and _versions_of_one_row(seen[key][1], " ".join(rest)):
            found.append(f"{number}: table row {key} appears twice (line {seen[key][0]})")
        seen.setdefault(key, (number, " ".join(rest)))
    return found


def _versions_of_one_row(first: str, second: str) -> bool:
    """Two rows with one key whose other cells say nearly the same: two edits of one row. Rows
    that share a key but differ (a table grouped by its first column) are not."""
    a, b = set(_words([first])), set(_words([second]))
    if a == b:
        return True
    return min(len(a), len(b)) >= SIMILAR_WORDS and len(a & b) / len(a | b) >= SIMILAR


def _words(lines: list[str]) -> list[str]:
    return re.findall(r"[\w'`.-]+", " ".join(lines).lower())


def repeated_run(lines: list[str], run: int = RUN) -> str | None:
    words = _words(lines)
    seen: dict[tuple, int] = {}
    for i in range(len(words) - run + 1):
        gram = tuple(words[i : i + run])
        if gram in seen and i - seen[gram] >= run:
            return " ".join(gram)
        seen.setdefault(gram, i)
    return None


def scars(text: str) -> list[str]:
    found: list[str] = []
    paragraphs: dict[str, int] = {}
    previous: list[str] = []
    for start, lines in blocks(text):
        if lines[0].lstrip().startswith("|"):
            found += table_scars(start, lines)
            continue
        if lines[0].lstrip().startswith(("#", "<!--")):
            continue
        flat = " ".join(" ".join(lines).split())
        if len(flat) >= MIN_PARAGRAPH:
            if flat in paragraphs:
                found.append(f"{start}: paragraph repeated (first at line {paragraphs[flat]})")
            paragraphs.setdefault(flat, start)
        # with the block before: a blank line may have cut the repeated paragraph in two
        run = repeated_run(previous + lines)
        if run:
            found.append(f"{start}: words repeated in one paragraph: '{run}'")
        previous = lines
    return found


def main(paths: list[str]) -> int:
    failed = 0
    for name in paths:
        for scar in scars(Path(name).read_text()):
            print(f"{name}:{scar}")
            failed = 1
    if failed:
        print("merge scars: keep one version of each repeated row or sentence")
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
