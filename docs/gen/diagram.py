"""Render a Mermaid diagram of the site to a static SVG, so the pages load no script from a
network (Material would fetch mermaid.js from a CDN for a ```mermaid block).

    npm pack mermaid@12.3.0 && tar xzf mermaid-12.3.0.tgz        # once, anywhere
    python docs/gen/diagram.py package/dist/mermaid.min.js docs/assets/gitops-loop.mmd

writes docs/assets/gitops-loop.svg next to its source (headless Chromium runs mermaid). Commit
both: the .mmd is what you edit, the .svg is what the pages show.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# XMLSerializer: an SVG file is XML (an HTML serialisation leaves <br> unclosed)
PAGE = """<!doctype html><html><body><div id="drawn"></div><pre id="out"></pre>
<script src="{script}"></script>
<script>
mermaid.initialize({{startOnLoad: false, theme: "neutral", htmlLabels: false,
                     flowchart: {{htmlLabels: false, wrappingWidth: 420}}}});
mermaid.render("diagram", {source}).then(({{svg}}) => {{
  const drawn = document.getElementById("drawn");
  drawn.innerHTML = svg;
  const xml = new XMLSerializer().serializeToString(drawn.querySelector("svg"));
  document.getElementById("out").textContent = xml;
}}).catch((error) => {{ document.getElementById("out").textContent = "error: " + error; }});
</script></body></html>
"""


def render(mermaid_js: Path, source: Path, browser: str = "chromium") -> str:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "render.html"
        page.write_text(
            PAGE.format(script=mermaid_js.resolve().as_uri(), source=json.dumps(source.read_text()))
        )
        dom = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--allow-file-access-from-files", "--virtual-time-budget=60000", "--dump-dom",
             page.as_uri()],
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout  # fmt: skip
    found = re.search(r'<pre id="out">(.*)</pre>', dom, flags=re.S)
    said = html.unescape(found.group(1)) if found else "nothing"
    if not said.startswith("<svg"):
        raise SystemExit(f"{source}: mermaid rendered no SVG ({said[:300]})")
    return said + "\n"


if __name__ == "__main__":
    script, source = Path(sys.argv[1]), Path(sys.argv[2])
    out = source.with_suffix(".svg")
    out.write_text(render(script, source))
    print(f"docs: wrote {out} ({out.stat().st_size:,} bytes)")
