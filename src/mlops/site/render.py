"""The registry page as one HTML document: semantic sections, real tables, inline CSS and SVG.

Nothing is loaded from a network: no script, no font, no stylesheet; links to GitHub (commits,
pull requests) are plain links the reader may follow.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from importlib import resources

from mlops.core.errors import MlopsError
from mlops.model import registry
from mlops.site import chart, markdown
from mlops.site.collect import EnvView, Pinned, SiteData, VersionView

MAX_CHARTS = 6


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _css() -> str:
    return resources.files("mlops.site").joinpath("style.css").read_text()


def _when(iso: str | None) -> str:
    """A Git timestamp, shown in UTC to the minute (authors' offsets differ)."""
    if not iso:
        return "—"
    try:
        shown = datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        shown = iso[:16].replace("T", " ")
    return f'<time datetime="{_e(iso)}">{_e(shown)}</time>'


class Links:
    """Commit and PR references, linked to GitHub when the origin is there."""

    def __init__(self, repo_url: str | None):
        self.repo_url = repo_url

    def commit(self, sha: str | None) -> str:
        if not sha:
            return "—"
        code = f"<code>{_e(sha[:10])}</code>"
        if self.repo_url:
            return f'<a href="{_e(self.repo_url)}/commit/{_e(sha)}">{code}</a>'
        return f'<code title="{_e(sha)}">{_e(sha[:10])}</code>'

    def pr(self, number: int | None) -> str:
        if not number:
            return "—"
        if self.repo_url:
            return f'<a href="{_e(self.repo_url)}/pull/{number}">#{number}</a>'
        return f"#{number}"


def _version_link(version: str | None) -> str:
    if not version:
        return "none"
    return f'<a href="#version-{_e(version)}">{_e(version)}</a>'


# --- environments ---------------------------------------------------------------------------


def _pin_rows(label: str, pin: Pinned, links: Links) -> str:
    what = _version_link(pin.version)
    if pin.traffic is not None:
        what += f' <span class="badge canary">{pin.traffic}% of requests</span>'
    return (
        f'<tr><th scope="row">{label}</th><td>{what}</td><td>{_when(pin.since)}</td>'
        f"<td>{links.pr(pin.pr)}</td><td>{links.commit(pin.commit)}</td></tr>"
    )


def _live(view: EnvView, links: Links) -> str:
    live = view.live
    if live is None:
        return '<p class="muted">Live server not checked (<code>--no-live</code>).</p>'
    if live.get("live") is None:
        return (
            f'<p class="live unknown"><span class="badge unknown">not reachable</span> '
            f"{_e(live.get('reason'))}</p>"
        )
    agrees = live.get("sync") == "Synced"
    badge = (
        '<span class="badge ok">agrees with Git</span>'
        if agrees
        else '<span class="badge bad">differs from Git</span>'
    )
    health = live.get("health")
    state = "ok" if health == "Healthy" else "bad"
    health_badge = f' <span class="badge {state}">{_e(health)}</span>'
    reason = f" — {_e(live.get('reason'))}" if live.get("reason") else ""
    return (
        f'<p class="live">{badge}{health_badge} live server {_e(view.url)} serves '
        f"<strong>{_e(live.get('live'))}</strong> at commit {links.commit(live.get('commit'))}"
        f" (asked when this page was built){reason}</p>"
    )


def environment_section(data: SiteData, links: Links) -> str:
    if not data.environments:
        return "<p>No environment is defined yet (<code>environments/*.yaml</code>).</p>"
    cards = []
    for view in data.environments:
        rows = []
        if view.stable:
            rows.append(_pin_rows("stable", view.stable, links))
        if view.canary:
            rows.append(_pin_rows("canary", view.canary, links))
        table = (
            '<div class="scroll"><table class="pins"><caption class="sr-only">'
            f'What {_e(view.name)} serves</caption><thead><tr><th scope="col">route</th>'
            '<th scope="col">version</th><th scope="col">since</th><th scope="col">PR</th>'
            f'<th scope="col">commit</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            if rows
            else "<p>Nothing deployed yet (<code>mlops promote "
            f"{_e(view.name)} VERSION</code>).</p>"
        )
        last = view.last_change
        last_text = ""
        if last:
            kind = (
                '<span class="badge rollback">rollback</span> '
                if last["kind"] == "rollback"
                else ""
            )
            last_text = (
                f'<p class="muted">Last change: {kind}{_when(last["time"])}, '
                f"{_e(last['from'])} → {_e(last['to'])} ({links.pr(last.get('pr'))}, "
                f"{links.commit(last['commit'])})</p>"
            )
        policy = [f"canary at most {view.max_traffic}%"] if view.max_traffic else []
        if view.requires:
            policy.insert(0, f"requires {_e(view.requires)} first")
        summary = (
            f"{_version_link(view.stable.version)}"
            + (
                f" + canary {_version_link(view.canary.version)} at {view.canary.traffic}%"
                if view.canary
                else ""
            )
            if view.stable
            else "nothing deployed"
        )
        name = _e(view.name)
        cards.append(
            f'<article class="env" id="env-{name}" aria-labelledby="env-{name}-h">'
            f'<h3 id="env-{name}-h">{name}</h3>'
            f'<p class="serves">Serves {summary}</p>{table}{_live(view, links)}{last_text}'
            f'<p class="muted">{"; ".join(policy)}</p></article>'
        )
    return f'<div class="envs">{"".join(cards)}</div>'


# --- versions -------------------------------------------------------------------------------


def _charts(data: SiteData) -> str:
    if not data.versions or not data.metrics:
        return ""
    names = [v.version for v in data.versions]
    marks: dict[str, list[int]] = {}
    for view in data.environments:
        if view.stable:
            marks[f"live in {view.name}"] = [
                i for i, n in enumerate(names) if n == view.stable.version
            ]
        if view.canary:
            marks[f"canary in {view.name}"] = [
                i for i, n in enumerate(names) if n == view.canary.version
            ]
    figures = []
    for metric in data.metrics[:MAX_CHARTS]:
        threshold = data.thresholds.get(metric)
        series = chart.Series(
            metric,
            names,
            [v.metrics.get(metric) for v in data.versions],
            marks,
            (f"{threshold[0]} ≥", threshold[1]) if threshold else None,
        )
        svg = chart.metric_chart(series)
        if svg:
            figures.append(f"<figure><figcaption>{_e(metric)}</figcaption>{svg}</figure>")
    return (
        '<section aria-labelledby="charts-h"><h3 id="charts-h">Main metrics across versions</h3>'
        f'{chart.legend(list(marks))}<div class="charts">{"".join(figures)}</div>'
        '<p class="muted">Holdout metrics from each version\'s tag, oldest version on the left; '
        "dashed: the minimum an environment's gate requires.</p></section>"
    )


def _deployed_badges(view: VersionView) -> str:
    badges = [
        f'<span class="badge {"canary" if "canary" in d else "live"}">{_e(d)}</span>'
        for d in view.deployed
    ]
    return " ".join(badges) or "—"


def _versions_table(data: SiteData, links: Links) -> str:
    head = "".join(
        f'<th scope="col" class="num">{_e(m).replace("_", "_<wbr>")}</th>' for m in data.metrics
    )
    rows = []
    for v in reversed(data.versions):
        cells = "".join(
            f'<td class="num">{v.metrics[m]:.4f}</td>' if m in v.metrics else "<td>—</td>"
            for m in data.metrics
        )
        rows.append(
            f'<tr><th scope="row"><a href="#version-{_e(v.version)}">{_e(v.version)}</a></th>'
            f"<td>{_when(v.tagged_at)}</td><td>{links.commit(v.commit)}</td>{cells}"
            f"<td>{_deployed_badges(v)}</td><td>{_e(', '.join(v.ever_live)) or '—'}</td></tr>"
        )
    return (
        '<div class="scroll" role="region" aria-labelledby="versions-caption" tabindex="0">'
        '<table class="versions"><caption id="versions-caption">Every registered version, '
        "newest first</caption><thead><tr>"
        '<th scope="col">version</th><th scope="col">registered</th><th scope="col">commit</th>'
        f'{head}<th scope="col">deployed now</th><th scope="col">ever live in</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _version_details(data: SiteData, links: Links) -> str:
    items = []
    for v in reversed(data.versions):
        facts = [
            ("tag", f"<code>{_e(v.tag)}</code>"),
            ("commit", links.commit(v.commit)),
            ("registered", f"{_when(v.tagged_at)} by {_e(v.tagger)}"),
            ("artifact sha256", f"<code class='digest'>{_e(v.digest)}</code>"),
            ("deployed now", _deployed_badges(v)),
        ]
        dl = "".join(f"<dt>{k}</dt><dd>{val}</dd>" for k, val in facts)
        card = (
            f'<div class="card">{markdown.to_html(v.card, shift=2, links=False)}</div>'
            if v.card
            else "<p>No model card in this version's tag.</p>"
        )
        items.append(
            f'<article class="version" id="version-{_e(v.version)}">'
            f"<h3>{_e(v.version)}</h3><dl>{dl}</dl>"
            f"<details><summary>Model card of {_e(v.version)}</summary>{card}</details></article>"
        )
    return "".join(items)


def versions_section(data: SiteData, links: Links) -> str:
    if not data.versions:
        return (
            "<p>No version registered yet: <code>mlops register</code> tags "
            f"<code>{_e(data.model)}@v1.0.0</code> after a merge to main.</p>"
        )
    return (
        _off_main_note(data)
        + _charts(data)
        + _versions_table(data, links)
        + f'<h3 class="sr-only">Each version</h3><div class="version-list">'
        f"{_version_details(data, links)}</div>"
    )


def _off_main_note(data: SiteData) -> str:
    """The tags the page leaves off, named, so nothing is hidden without a word."""
    if not data.off_main:
        return ""
    tags = ", ".join(f"<code>{_e(t)}</code>" for t in data.off_main)
    return (
        f'<p class="note">Not shown: {tags}: registered from a commit that is not on main\'s '
        "first-parent line (a branch or an unmerged commit), so not a version of this registry."
        "</p>"
    )


# --- the timeline ---------------------------------------------------------------------------


def _version_key(name: str) -> tuple:
    try:
        return (0, *registry.parse_version(name))
    except MlopsError:
        return (1, name)


def lanes(data: SiteData) -> tuple[list[chart.Lane], list[str]]:
    """Per environment, the version live after each change (for the timeline chart)."""
    names = {v.version for v in data.versions}
    for c in data.changes:
        after = c.get("after") or {}
        names.update(
            n for n in (after.get("version"), (after.get("canary") or {}).get("version")) if n
        )
    order = sorted(names, key=_version_key)
    index = {n: i for i, n in enumerate(order)}
    envs = [e.name for e in data.environments] or sorted({c["env"] for c in data.changes})
    out = []
    for env in envs:
        lane, state = chart.Lane(env, [], []), {}
        for i, c in enumerate(data.changes):
            if c["env"] == env:
                state = c.get("after") or {}
                if c["kind"] == "rollback":
                    lane.rollbacks.append(i)
            lane.stable.append(index.get(state.get("version")))
            lane.canary.append(index.get((state.get("canary") or {}).get("version")))
        out.append(lane)
    return out, order


def _timeline_chart(data: SiteData) -> str:
    env_lanes, order = lanes(data)
    svg = chart.timeline_chart(env_lanes, order, len(data.changes))
    if not svg:
        return ""
    return (
        f'<figure class="wide"><figcaption>Which version each environment served</figcaption>'
        f"{chart.legend([lane.env for lane in env_lanes])}{svg}"
        '<p class="muted">Solid: stable; dashed: canary; red triangle: a rollback. One step per '
        "change of <code>models.yaml</code>, oldest on the left.</p></figure>"
    )


def timeline_section(data: SiteData, links: Links) -> str:
    if not data.changes:
        return (
            "<p>No promotion yet: <code>mlops promote ENV VERSION</code> opens the first one.</p>"
        )
    rollbacks = sum(1 for c in data.changes if c["kind"] == "rollback")
    rows = []
    for c in reversed(data.changes):
        if c["kind"] == "rollback":
            kind = '<span class="badge rollback">↩ rollback</span>'
            what = f"reverts {links.commit(c.get('reverts'))}: {_e(c.get('reverts_subject') or '')}"
        else:
            kind = '<span class="badge promotion">promotion</span>'
            what = _e(c["subject"])
        rows.append(
            f'<tr class="{_e(c["kind"])}"><td>{_when(c["time"])}</td><td>{kind}</td>'
            f"<td>{_e(c['env'])}</td><td>{_e(c['from'])}</td><td>{_e(c['to'])}</td>"
            f"<td>{links.pr(c.get('pr'))}</td><td>{links.commit(c['commit'])}</td>"
            f"<td>{_e(c['author'].split(' <')[0])}</td><td>{what}</td></tr>"
        )
    return (
        f"<p>{len(data.changes)} changes of <code>models.yaml</code>, {rollbacks} of them "
        "rollbacks (reverts), from <code>git log</code> (<code>mlops audit</code>).</p>"
        + _timeline_chart(data)
        + '<div class="scroll" role="region" aria-labelledby="timeline-caption" tabindex="0">'
        '<table class="timeline"><caption id="timeline-caption">Promotions and rollbacks, newest '
        'first</caption><thead><tr><th scope="col">time</th><th scope="col">kind</th>'
        '<th scope="col">environment</th><th scope="col">from</th><th scope="col">to</th>'
        '<th scope="col">PR</th><th scope="col">commit</th><th scope="col">author</th>'
        f'<th scope="col">what</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


# --- drift ----------------------------------------------------------------------------------


def drift_section(data: SiteData) -> str:
    drift = data.drift
    if not drift:
        return (
            "<p>No drift report yet. <code>mlops drift --env production</code> (and "
            "<code>monitor.yml</code> on a schedule) writes one to <code>reports/drift/</code>.</p>"
        )
    verdict = (
        '<span class="badge bad">drift</span>'
        if drift.get("drift")
        else '<span class="badge ok">no drift</span>'
    )
    rows = []
    for col in [*drift.get("columns", []), drift.get("prediction_drift") or {}]:
        if not col:
            continue
        drifted = col.get("drifted")
        rows.append(
            f'<tr class="{"drifted" if drifted else ""}"><th scope="row">{_e(col.get("column"))}'
            f"</th><td>{_e(col.get('kind'))}</td><td>{_e(col.get('test'))}</td>"
            f'<td class="num">{col.get("score", 0):.4g}</td>'
            f'<td class="num">{col.get("threshold", 0):g}</td>'
            f"<td>{'<strong>yes</strong>' if drifted else 'no'}</td></tr>"
        )
    current = drift.get("current") or {}
    links = "".join(
        f'<li><a href="drift/{_e(p.name)}">{_e(p.name)}</a></li>' for p in data.drift_files
    )
    return (
        f"<p>{verdict} in <strong>{_e(drift.get('env'))}</strong>, stable version "
        f"{_version_link(drift.get('version'))}: {len(drift.get('drifted_columns', []))} of "
        f"{len(drift.get('columns', []))} columns drifted (share "
        f"{drift.get('drifted_share', 0):.2f}; threshold {drift.get('drift_share_threshold')})."
        f" Traffic logged {_when(current.get('first_ts'))} .. {_when(current.get('last_ts'))}, "
        f"{current.get('rows_used', 0):,} rows compared; report written "
        f"{_when(drift.get('written_at'))}.</p>"
        '<div class="scroll"><table><caption>Drift per column (Evidently)</caption><thead><tr>'
        '<th scope="col">column</th><th scope="col">kind</th><th scope="col">test</th>'
        '<th scope="col" class="num">score</th><th scope="col" class="num">threshold</th>'
        f'<th scope="col">drifted</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
        + (f"<p>Full reports (copied beside this page):</p><ul>{links}</ul>" if links else "")
    )


# --- the page -------------------------------------------------------------------------------


def page(data: SiteData) -> str:
    links = Links(data.repo_url)
    title = f"{data.model}: model registry"
    sections = [
        ("environments", "Environments: what is live", environment_section(data, links)),
        ("versions", f"Versions ({len(data.versions)})", versions_section(data, links)),
        ("timeline", "Promotion timeline", timeline_section(data, links)),
        ("drift", "Latest drift report", drift_section(data)),
    ]
    nav = "".join(f'<li><a href="#{sid}">{_e(h)}</a></li>' for sid, h, _ in sections)
    body = "".join(
        f'<section id="{sid}" aria-labelledby="{sid}-h"><h2 id="{sid}-h">{_e(h)}</h2>'
        f"{content}</section>"
        for sid, h, content in sections
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{_css()}</style></head><body>"
        f'<header><h1>{_e(title)}</h1><p class="muted">Built from Git at commit '
        f"{links.commit(data.head)} on {_when(data.built_at)} (times in UTC) by "
        "<code>mlops site</code>: version tags, <code>models.yaml</code>'s history, "
        f'reports.</p><nav aria-label="Sections"><ul>{nav}</ul></nav></header>'
        f"<main>{body}</main>"
        '<footer><p class="muted">Static page: no server, no script, nothing loaded from a '
        "network. Regenerate with <code>mlops site --out DIR</code>.</p></footer></body></html>\n"
    )
