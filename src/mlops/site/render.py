"""The registry page as one HTML document: semantic sections, real tables, inline CSS and SVG.

Nothing is loaded from a network: no script, no font, no stylesheet; links to GitHub (commits,
pull requests) are plain links the reader may follow.
"""

from __future__ import annotations

from importlib import resources

from mlops.site import chart, markdown
from mlops.site.collect import EnvView, Pinned, SiteData, VersionView
from mlops.site.html import Links, esc, version_link, when
from mlops.site.timeline import drift_section, timeline_section

MAX_CHARTS = 6


def _css() -> str:
    return resources.files("mlops.site").joinpath("style.css").read_text()


# --- environments ---------------------------------------------------------------------------


def _pin_rows(label: str, pin: Pinned, links: Links) -> str:
    what = version_link(pin.version)
    if pin.traffic is not None:
        what += f' <span class="badge canary">{pin.traffic}% of requests</span>'
    return (
        f'<tr><th scope="row">{label}</th><td>{what}</td><td>{when(pin.since)}</td>'
        f"<td>{links.pr(pin.pr)}</td><td>{links.commit(pin.commit)}</td></tr>"
    )


def _live(view: EnvView, links: Links) -> str:
    live = view.live
    if live is None:
        return '<p class="muted">Live server not checked (<code>--no-live</code>).</p>'
    if live.get("live") is None:
        return (
            f'<p class="live unknown"><span class="badge unknown">not reachable</span> '
            f"{esc(live.get('reason'))}</p>"
        )
    agrees = live.get("sync") == "Synced"
    badge = (
        '<span class="badge ok">agrees with Git</span>'
        if agrees
        else '<span class="badge bad">differs from Git</span>'
    )
    health = live.get("health")
    state = "ok" if health == "Healthy" else "bad"
    health_badge = f' <span class="badge {state}">{esc(health)}</span>'
    reason = f" — {esc(live.get('reason'))}" if live.get("reason") else ""
    return (
        f'<p class="live">{badge}{health_badge} live server {esc(view.url)} serves '
        f"<strong>{esc(live.get('live'))}</strong> at commit {links.commit(live.get('commit'))}"
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
            f'What {esc(view.name)} serves</caption><thead><tr><th scope="col">route</th>'
            '<th scope="col">version</th><th scope="col">since</th><th scope="col">PR</th>'
            f'<th scope="col">commit</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            if rows
            else "<p>Nothing deployed yet (<code>mlops promote "
            f"{esc(view.name)} VERSION</code>).</p>"
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
                f'<p class="muted">Last change: {kind}{when(last["time"])}, '
                f"{esc(last['from'])} → {esc(last['to'])} ({links.pr(last.get('pr'))}, "
                f"{links.commit(last['commit'])})</p>"
            )
        policy = [f"canary at most {view.max_traffic}%"] if view.max_traffic else []
        if view.requires:
            policy.insert(0, f"requires {esc(view.requires)} first")
        summary = (
            f"{version_link(view.stable.version)}"
            + (
                f" + canary {version_link(view.canary.version)} at {view.canary.traffic}%"
                if view.canary
                else ""
            )
            if view.stable
            else "nothing deployed"
        )
        name = esc(view.name)
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
            figures.append(f"<figure><figcaption>{esc(metric)}</figcaption>{svg}</figure>")
    return (
        '<section aria-labelledby="charts-h"><h3 id="charts-h">Main metrics across versions</h3>'
        f'{chart.legend(list(marks))}<div class="charts">{"".join(figures)}</div>'
        '<p class="muted">Holdout metrics from each version\'s tag, oldest version on the left; '
        "dashed: the minimum an environment's gate requires.</p></section>"
    )


def _deployed_badges(view: VersionView) -> str:
    badges = [
        f'<span class="badge {"canary" if "canary" in d else "live"}">{esc(d)}</span>'
        for d in view.deployed
    ]
    return " ".join(badges) or "—"


def _versions_table(data: SiteData, links: Links) -> str:
    head = "".join(
        f'<th scope="col" class="num">{esc(m).replace("_", "_<wbr>")}</th>' for m in data.metrics
    )
    rows = []
    for v in reversed(data.versions):
        cells = "".join(
            f'<td class="num">{v.metrics[m]:.4f}</td>' if m in v.metrics else "<td>—</td>"
            for m in data.metrics
        )
        rows.append(
            f'<tr><th scope="row"><a href="#version-{esc(v.version)}">{esc(v.version)}</a></th>'
            f"<td>{when(v.tagged_at)}</td><td>{links.commit(v.commit)}</td>{cells}"
            f"<td>{_deployed_badges(v)}</td><td>{esc(', '.join(v.ever_live)) or '—'}</td></tr>"
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
            ("tag", f"<code>{esc(v.tag)}</code>"),
            ("commit", links.commit(v.commit)),
            ("registered", f"{when(v.tagged_at)} by {esc(v.tagger)}"),
            ("artifact sha256", f"<code class='digest'>{esc(v.digest)}</code>"),
            ("deployed now", _deployed_badges(v)),
        ]
        dl = "".join(f"<dt>{k}</dt><dd>{val}</dd>" for k, val in facts)
        card = (
            f'<div class="card">{markdown.to_html(v.card, shift=2, links=False)}</div>'
            if v.card
            else "<p>No model card in this version's tag.</p>"
        )
        items.append(
            f'<article class="version" id="version-{esc(v.version)}">'
            f"<h3>{esc(v.version)}</h3><dl>{dl}</dl>"
            f"<details><summary>Model card of {esc(v.version)}</summary>{card}</details></article>"
        )
    return "".join(items)


def versions_section(data: SiteData, links: Links) -> str:
    if not data.versions:
        return (
            "<p>No version registered yet: <code>mlops register</code> tags "
            f"<code>{esc(data.model)}@v1.0.0</code> after a merge to main.</p>"
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
    tags = ", ".join(f"<code>{esc(t)}</code>" for t in data.off_main)
    return (
        f'<p class="note">Not shown: {tags}: registered from a commit that is not on main\'s '
        "first-parent line (a branch or an unmerged commit), so not a version of this registry."
        "</p>"
    )


# --- the page -------------------------------------------------------------------------------


def _problems_note(data: SiteData) -> str:
    """What `mlops audit` reports as wrong with the history, above everything the page shows:
    a figure of a rewritten tag, or a state no server applied, is not a fact."""
    if not data.problems:
        return ""
    items = "".join(f"<li>{esc(p)}</li>" for p in data.problems)
    return (
        '<div class="note" role="alert"><p><strong>The history has problems</strong> '
        "(<code>mlops audit</code> lists them too); what this page shows from the "
        f"tags or states named here is not what was reviewed or served:</p><ul>{items}</ul></div>"
    )


def page(data: SiteData) -> str:
    links = Links(data.repo_url)
    title = f"{data.model}: model registry"
    sections = [
        ("environments", "Environments: what is live", environment_section(data, links)),
        ("versions", f"Versions ({len(data.versions)})", versions_section(data, links)),
        ("timeline", "Promotion timeline", timeline_section(data, links)),
        ("drift", "Latest drift report", drift_section(data)),
    ]
    nav = "".join(f'<li><a href="#{sid}">{esc(h)}</a></li>' for sid, h, _ in sections)
    body = "".join(
        f'<section id="{sid}" aria-labelledby="{sid}-h"><h2 id="{sid}-h">{esc(h)}</h2>'
        f"{content}</section>"
        for sid, h, content in sections
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{_css()}</style></head><body>"
        f'<header><h1>{esc(title)}</h1><p class="muted">Built from Git at commit '
        f"{links.commit(data.head)} on {when(data.built_at)} (times in UTC) by "
        "<code>mlops site</code>: version tags, <code>models.yaml</code>'s history, "
        f'reports.</p><nav aria-label="Sections"><ul>{nav}</ul></nav></header>'
        f"<main>{_problems_note(data)}{body}</main>"
        '<footer><p class="muted">Static page: no server, no script, nothing loaded from a '
        "network. Regenerate with <code>mlops site --out DIR</code>.</p></footer></body></html>\n"
    )
