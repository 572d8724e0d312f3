"""`mlops site` on a real Git history: what the page says, what it links, what it never loads."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from mlops.site import markdown
from mlops.site.build import build
from mlops.site.collect import since_changes
from tests.conftest import copy_template, git, mlops
from tests.site.conftest import VERSIONS, digest

# what a browser would fetch on its own: scripts, images, frames, stylesheets, CSS urls, imports
LOADS = re.compile(r"<(script|img|iframe|link|object|embed|source)\b|\bsrc=|url\(|@import", re.I)


def test_the_page_shows_environments_versions_canary_and_rollback(history, tmp_path):
    proc = mlops(history, "site", "--out", str(tmp_path / "site"), "--no-live")
    assert "3 versions, 7 changes, 2 environments" in proc.stdout
    page = (tmp_path / "site" / "index.html").read_text()
    for version in VERSIONS:
        assert f'id="version-{version}"' in page
        assert f"Model card of {version}" in page
    assert 'id="env-production"' in page and 'id="env-staging"' in page
    assert "10% of requests" in page
    assert page.count('<tr class="rollback">') == 1
    assert "reverts" in page and "↩ rollback" in page
    assert page.count('class="chart"') == 4  # one chart per main metric of the tags
    assert page.count("<title>rollback in production</title>") == 1  # on the timeline chart
    assert not LOADS.search(page), LOADS.search(page)
    assert "default-src 'none'" in page  # and the browser would refuse anything else anyway


def _merge_of(repo, pr: int) -> str:
    lines = git(repo, "log", "--merges", "--format=%H %s").splitlines()
    return next(h for h, _, s in (line.partition(" ") for line in lines) if f"#{pr} " in s)


def test_since_when_through_which_pr_and_commit(history, tmp_path):
    data = build(history, tmp_path / "site", live_timeout=None).data
    envs = {e.name: e for e in data.environments}
    prod = envs["production"]
    merges = git(history, "log", "--format=%s", "--merges").splitlines()
    assert len(merges) == 7
    # v1.0.0 has been production's stable since PR #2, through the canary and its rollback
    assert (prod.stable.version, prod.stable.pr) == ("v1.0.0", 2)
    # main's first-parent history: the change is the merge of PR #2, not the branch's commit
    assert prod.stable.commit == _merge_of(history, 2)
    assert (prod.canary.version, prod.canary.traffic, prod.canary.pr) == ("v1.2.0", 10, 7)
    assert prod.canary.since == git(history, "log", "-1", "--format=%aI", "promote/production-7")
    assert (envs["staging"].stable.version, envs["staging"].stable.pr) == ("v1.2.0", 6)
    versions = {v.version: v for v in data.versions}
    assert versions["v1.1.0"].deployed == []
    assert versions["v1.1.0"].ever_live == ["staging", "production (canary)"]
    assert versions["v1.2.0"].metrics["roc_auc"] == VERSIONS["v1.2.0"]["roc_auc"]
    assert versions["v1.0.0"].card.startswith("# Model card: churn-model v1.0.0")
    written = json.loads((tmp_path / "site" / "registry.json").read_text())
    assert [c["kind"] for c in written["changes"]].count("rollback") == 1


def test_since_restarts_when_a_rollback_restores_an_older_stable():
    rows = [
        {"before": None, "after": {"version": "v1"}, "n": 1},
        {"before": {"version": "v1"}, "after": {"version": "v2"}, "n": 2},
        {"before": {"version": "v2"}, "after": {"version": "v1"}, "n": 3},  # the revert
    ]
    canary = {"version": "v3", "traffic": 5}
    rows.append({"before": {"version": "v1"}, "after": {"version": "v1", "canary": canary}, "n": 4})
    stable, canary = since_changes(rows)
    assert (stable["n"], canary["n"]) == (3, 4)
    assert since_changes(rows[:3])[1] is None


class _Version(BaseHTTPRequestHandler):
    answer: ClassVar[dict] = {}

    def do_GET(self):
        body = json.dumps(self.answer).encode()
        self.send_response(200 if self.path == "/version" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _point_env_at(repo: Path, env: str, url: str) -> None:
    path = repo / "environments" / f"{env}.yaml"
    text = path.read_text()
    old = re.search(r"url: (\S+)", text).group(1)
    path.write_text(text.replace(old, url))


def test_a_live_server_that_serves_what_git_says_agrees(history, tmp_path):
    _Version.answer = {
        "env": "staging",
        "commit": git(history, "rev-parse", "HEAD"),
        "stable": {"version": "v1.2.0", "digest": digest("v1.2.0")},
        "canary": None,
        "sync": "Synced",
        "reason": "",
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Version)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _point_env_at(history, "staging", f"http://127.0.0.1:{server.server_port}")
        built = build(history, tmp_path / "site", live_timeout=10.0)
    finally:
        server.shutdown()
    envs = {e.name: e for e in built.data.environments}
    assert (envs["staging"].live["sync"], envs["staging"].live["health"]) == ("Synced", "Healthy")
    assert envs["production"].live["sync"] == "Unknown"  # the template's URL: nobody there
    page = built.index.read_text()
    assert "agrees with Git" in page and "not reachable" in page


def test_a_silent_server_costs_the_deadline_not_its_own_timeout(history, tmp_path):
    silent = socket.socket()  # accepts connections, never answers (status's own timeout: 2 s)
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        _point_env_at(history, "production", f"http://127.0.0.1:{silent.getsockname()[1]}")
        built = build(history, tmp_path / "site", live_timeout=0.3)
    finally:
        silent.close()
    live = {e.name: e.live for e in built.data.environments}
    assert live["production"]["reason"].endswith("within 0.3 s")  # the deadline, not a timeout
    assert "not reachable" in built.index.read_text()


def test_latest_drift_report_is_summarised_and_copied(history, tmp_path):
    older, newer = history / "reports/drift/old", history / "reports/drift"
    for where, verdict in ((older, False), (newer, True)):
        where.mkdir(parents=True, exist_ok=True)
        column = {"column": "tenure_months", "kind": "num", "test": "K-S p_value",
                  "score": 0.001, "threshold": 0.05, "drifted": verdict}  # fmt: skip
        report = {"env": "production", "version": "v1.0.0", "drift": verdict,
                  "drifted_share": 1.0 if verdict else 0.0, "drift_share_threshold": 0.3,
                  "drifted_columns": ["tenure_months"] if verdict else [], "columns": [column],
                  "prediction_drift": {**column, "column": "score"},
                  "current": {"rows_used": 500, "first_ts": "t0", "last_ts": "t1"}}  # fmt: skip
        (where / "drift.json").write_text(json.dumps(report))
        (where / "drift.html").write_text("<html>evidently</html>")
        time.sleep(0.05)  # the newer file is the later one
    built = build(history, tmp_path / "site", live_timeout=None)
    page = built.index.read_text()
    assert built.data.drift["drift"] is True
    assert '<span class="badge bad">drift</span>' in page
    assert (tmp_path / "site" / "drift" / "drift.html").is_file()
    assert 'href="drift/drift.html"' in page


def test_a_fresh_template_says_what_to_do_first(tmp_path):
    repo = copy_template(tmp_path / "repo")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "template")
    page = build(repo, tmp_path / "site", live_timeout=None).index.read_text()
    assert "No version registered yet" in page
    assert "No promotion yet" in page
    assert "Nothing deployed yet" in page
    assert "No drift report yet" in page


def test_markdown_of_a_tag_cannot_inject_markup():
    text = "# Card <script>alert(1)</script>\n\n| a | b |\n|---|--:|\n| `<b>` | [x](javascript:1) |"
    out = markdown.to_html(text, shift=3)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<h4>" in out and '<td class="num">' in out
    assert 'href="javascript' not in out


def test_the_command_and_each_option_have_help():
    import typer

    from mlops.cli import app

    command = typer.main.get_command(app).commands["site"]
    assert command.help
    # typer vendors its own click: an isinstance check against `click.Option` matches nothing
    options = [p for p in command.params if p.param_type_name == "option"]
    assert {o.name for o in options} >= {"out", "drift_dir", "live", "live_timeout"}
    assert all(o.help for o in options)
