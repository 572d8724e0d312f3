"""The registry page's history: which version each environment served when (a lane per
environment), and the drift measured on the live traffic."""

from __future__ import annotations

from mlops.core.errors import MlopsError
from mlops.model import registry
from mlops.site import chart
from mlops.site.collect import SiteData
from mlops.site.html import Links, esc, version_link, when

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
            what = (
                f"reverts {links.commit(c.get('reverts'))}: {esc(c.get('reverts_subject') or '')}"
            )
        else:
            kind = '<span class="badge promotion">promotion</span>'
            what = esc(c["subject"])
        rows.append(
            f'<tr class="{esc(c["kind"])}"><td>{when(c["time"])}</td><td>{kind}</td>'
            f"<td>{esc(c['env'])}</td><td>{esc(c['from'])}</td><td>{esc(c['to'])}</td>"
            f"<td>{links.pr(c.get('pr'))}</td><td>{links.commit(c['commit'])}</td>"
            f"<td>{esc(c['author'].split(' <')[0])}</td><td>{what}</td></tr>"
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
            f'<tr class="{"drifted" if drifted else ""}"><th scope="row">{esc(col.get("column"))}'
            f"</th><td>{esc(col.get('kind'))}</td><td>{esc(col.get('test'))}</td>"
            f'<td class="num">{col.get("score", 0):.4g}</td>'
            f'<td class="num">{col.get("threshold", 0):g}</td>'
            f"<td>{'<strong>yes</strong>' if drifted else 'no'}</td></tr>"
        )
    current = drift.get("current") or {}
    links = "".join(
        f'<li><a href="drift/{esc(p.name)}">{esc(p.name)}</a></li>' for p in data.drift_files
    )
    return (
        f"<p>{verdict} in <strong>{esc(drift.get('env'))}</strong>, stable version "
        f"{version_link(drift.get('version'))}: {len(drift.get('drifted_columns', []))} of "
        f"{len(drift.get('columns', []))} columns drifted (share "
        f"{drift.get('drifted_share', 0):.2f}; threshold {drift.get('drift_share_threshold')})."
        f" Traffic logged {when(current.get('first_ts'))} .. {when(current.get('last_ts'))}, "
        f"{current.get('rows_used', 0):,} rows compared; report written "
        f"{when(drift.get('written_at'))}.</p>"
        '<div class="scroll"><table><caption>Drift per column (Evidently)</caption><thead><tr>'
        '<th scope="col">column</th><th scope="col">kind</th><th scope="col">test</th>'
        '<th scope="col" class="num">score</th><th scope="col" class="num">threshold</th>'
        f'<th scope="col">drifted</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
        + (f"<p>Full reports (copied beside this page):</p><ul>{links}</ul>" if links else "")
    )
