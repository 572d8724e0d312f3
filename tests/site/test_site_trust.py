"""What the registry page trusts: only versions registered from main, and no link from a tag's
text. Real Git histories (tags on a branch, a tag whose card carries links), the real page."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mlops.model import registry
from mlops.site import markdown
from mlops.site.build import build
from tests.conftest import git, mlops
from tests.site.conftest import MODEL, VERSIONS, digest

ANCHOR = re.compile(r"<a\s[^>]*href=\"([^\"]*)\"", re.I)


def _tag(repo: Path, version: str, card: str) -> str:
    """An annotated tag at HEAD whose metadata claims ``version`` (as `mlops register` writes)."""
    metadata = {
        "artifact": "artifacts/model.skops",
        "md5": "f" * 32,
        "sha256": digest(version),
        "metrics": {"roc_auc": 0.99, "f1": 0.99},
        "commit": git(repo, "rev-parse", "HEAD"),
        "model_card": card,
    }
    tag = registry.tag_name(MODEL, version)
    git(repo, "tag", "-a", tag, "-m", json.dumps(metadata))
    return tag


def _tag_on_branch(repo: Path, branch: str, version: str, card: str) -> str:
    """A commit on ``branch`` (off main), tagged as ``version``; back on main after."""
    git(repo, "switch", "-q", "-c", branch)
    (repo / "reports" / "metrics.json").write_text('{"roc_auc": 0.99}\n')
    git(repo, "commit", "-qam", f"work on {branch}")
    tag = _tag(repo, version, card)
    git(repo, "switch", "-q", "main")
    return tag


def test_a_version_tagged_on_a_branch_is_not_on_the_page(history, tmp_path):
    tag = _tag_on_branch(history, "experiment", "v9.0.0", "# too good to be true")
    proc = mlops(history, "site", "--out", str(tmp_path / "site"), "--no-live")
    assert f"{len(VERSIONS)} versions" in proc.stdout
    page = (tmp_path / "site" / "index.html").read_text()
    assert 'id="version-v9.0.0"' not in page and "too good to be true" not in page
    assert f"Not shown: <code>{tag}</code>" in page  # named, not silently hidden
    data = json.loads((tmp_path / "site" / "registry.json").read_text())
    assert [v["version"] for v in data["versions"]] == list(VERSIONS)
    assert data["off_main"] == [tag]


def test_a_branch_merged_into_main_is_still_not_main_s_state(history, tmp_path):
    # the tag's commit reached main only as a merged-in second parent: main never was that
    # commit, so it is not a version registered from main
    tag = _tag_on_branch(history, "side", "v8.0.0", "# side")
    git(history, "merge", "-q", "--no-ff", "side", "-m", "Merge pull request #8 from side")
    data = build(history, tmp_path / "site", live_timeout=None).data
    assert "v8.0.0" not in [v.version for v in data.versions] and data.off_main == [tag]


def test_a_tag_s_card_places_no_link_on_the_page(history, tmp_path):
    card = (
        "# Model card\n\nSee [the docs](https://evil.example/phish) and [x](#top).\n\n"
        "| a | b |\n|---|---|\n| [cell](https://evil.example/t) | **[bold](https://e.example)** |\n"
        "- [item](https://evil.example/l)\n"
    )
    git(history, "commit", "-q", "--allow-empty", "-m", "retrain on main")
    _tag(history, "v2.0.0", card)
    page = build(history, tmp_path / "site", live_timeout=None).index.read_text()
    start = page.index('id="version-v2.0.0"')
    article = page[start : page.index("</article>", start)]
    assert "the docs" in article and "cell" in article and "item" in article
    assert ANCHOR.findall(article) == [], ANCHOR.findall(article)
    assert "evil.example" not in page


def test_markdown_without_links_keeps_the_text_and_drops_every_anchor():
    text = "[a](https://x.example) **[b](#c)** _[d](e.html)_ `[f](g)`"
    assert ANCHOR.findall(markdown.to_html(text)) == ["https://x.example", "#c", "e.html"]
    out = markdown.to_html(text, links=False)
    assert ANCHOR.findall(out) == []
    assert out == "<p>a <strong>b</strong> <em>d</em> <code>[f](g)</code></p>"
