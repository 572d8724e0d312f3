"""The registry page in a real headless Chromium: rendered from a real Git history, the key
elements are there and visible on a desktop and on a phone, nothing overflows the phone's width,
and screenshots are kept (in .screenshots/, or $MLOPS_SCREENSHOTS).

Skipped only when no Chromium is installed (`make test` installs it where apt-get can).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from mlops.site.build import build
from tests.conftest import ROOT
from tests.site.conftest import VERSIONS

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)"
    ),
]
SHOTS = Path(os.environ.get("MLOPS_SCREENSHOTS", ROOT / ".screenshots"))
DESKTOP, PHONE = (1280, 900), (390, 844)

# Elements a reader must see, by CSS selector: both environments, the canary, every version,
# a chart, the rollback in the timeline, and the drift section.
KEY = {
    "title": "h1",
    "production": "#env-production",
    "staging": "#env-staging",
    "canary": "#env-production .badge.canary",
    **{f"row {v}": f'table.versions a[href="#version-{v}"]' for v in VERSIONS},
    "chart": "svg.chart",
    "card": "#version-v1\\.2\\.0 summary",
    "rollback": "table.timeline tr.rollback",
    "timeline chart": "svg.timeline-chart",
    "drift": "#drift h2",
}

# Appended to a copy of the page (whose CSP forbids scripts): for each selector, is there an
# element with a size, displayed and not hidden; and is the page wider than the window?
PROBE = """<script>
const key = %s, out = {};
for (const [name, sel] of Object.entries(key)) {
  const el = document.querySelector(sel);
  if (!el) { out[name] = "missing"; continue; }
  el.scrollIntoView();
  const r = el.getBoundingClientRect(), s = getComputedStyle(el);
  out[name] = (r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none")
    ? "visible" : `hidden (${r.width}x${r.height}, ${s.display}, ${s.visibility})`;
}
out.overflow = document.documentElement.scrollWidth - window.innerWidth;
const pre = document.createElement("pre");
pre.id = "probe"; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]  # fmt: skip
    return subprocess.run(
        [CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=180, check=True
    )


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@pytest.fixture
def site(history, tmp_path) -> Path:
    drift = history / "reports" / "drift"
    drift.mkdir(parents=True)
    column = {"column": "contract", "kind": "cat", "test": "chi-square p_value", "score": 1e-9,
              "threshold": 0.05, "drifted": True}  # fmt: skip
    (drift / "drift.json").write_text(json.dumps({
        "env": "production", "version": "v1.0.0", "drift": True, "drifted_share": 0.5,
        "drift_share_threshold": 0.3, "drifted_columns": ["contract"], "columns": [column],
        "prediction_drift": {**column, "column": "score", "drifted": False},
        "current": {"rows_used": 1200, "first_ts": "2026-11-27T10:00", "last_ts": "11:00"},
    }))  # fmt: skip
    return build(history, tmp_path / "site", live_timeout=None).index


def test_the_page_renders_in_chromium_with_every_key_element(site, tmp_path):
    dom = chromium("--dump-dom", site.as_uri(), profile=tmp_path / "profile").stdout
    assert "<h1>churn-model: model registry</h1>" in dom
    for version in VERSIONS:
        assert f'id="version-{version}"' in dom
    assert "10% of requests" in dom and "↩ rollback" in dom


@pytest.mark.parametrize("name,size", [("desktop", DESKTOP), ("phone", PHONE)])
def test_key_elements_are_visible_and_a_screenshot_is_kept(site, tmp_path, name, size):
    probe = site.with_name("probe.html")
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", site.read_text())
    probe.write_text(page.replace("</body>", PROBE % json.dumps(KEY) + "</body>"))
    window = f"--window-size={size[0]},{size[1]}"
    dom = chromium(
        window, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri(), profile=tmp_path / "p1"
    ).stdout
    seen = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom).group(1))
    assert seen.pop("overflow") <= 0, "the page is wider than the window"
    assert seen == dict.fromkeys(KEY, "visible")

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"site-{name}.png"
    shot.unlink(missing_ok=True)
    full = f"--window-size={size[0]},{size[1] * 3}"
    chromium(full, f"--screenshot={shot}", site.as_uri(), profile=tmp_path / "p2")
    assert png_size(shot) == (size[0], size[1] * 3)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
