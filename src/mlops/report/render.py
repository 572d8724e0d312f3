"""Markdown for the PR comment, from a collected ``ReportData`` (no I/O here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops.core import paths
from mlops.evaluation.metric_names import LOWER_IS_BETTER
from mlops.quality.gates import Live, Verdict, compared_with
from mlops.report.cells import (
    FAIL,
    NOTE,
    PASS,
    WOULD_BLOCK,
    delta,
    fmt_num,
    gate_mark,
    gate_threshold,
    table,
)

if TYPE_CHECKING:
    from mlops.report.collect import ReportData

# --- sections ------------------------------------------------------------------------------


def verdict_line(verdicts: list[Verdict]) -> str:
    parts = []
    for v in verdicts:
        if v.passed:
            parts.append(f"{PASS} **{v.env}**: gates pass")
        else:
            failed = ", ".join(f"{g.gate} {g.metric}" for g in v.failures())
            parts.append(f"{FAIL} **{v.env}**: gates fail ({failed})")
        if v.would_block():
            dry = ", ".join(f"{g.gate} {g.metric}" for g in v.would_block())
            parts.append(f"{WOULD_BLOCK} **{v.env}**: {dry}")
    return "**Verdict:** " + " · ".join(parts) if parts else "**Verdict:** no environments defined"


def _metric_gates(verdicts: list[Verdict], metric: str) -> str:
    cells = []
    for v in verdicts:
        mine = [g for g in v.gates if g.metric == metric and g.gate in ("min", "max_regression")]
        if mine:
            cells.append(
                f"{v.env}: " + ", ".join(f"{gate_threshold(g)} {gate_mark(g)}" for g in mine)
            )
    return "<br>".join(cells) or ""


def _clause(note: str) -> str:
    return note.rstrip(".")


def _md5(md5: str | None) -> str:
    return f"`{md5[:12]}`" if md5 else "unknown"


def _live_columns(live: Live | None, new: dict[str, Any]) -> list[tuple[str, dict]]:
    """The live columns of the metrics table: on these rows (when scored), then as recorded.
    When the live version trained on part of this holdout, the rows neither trained on are
    fewer, and this change's metrics on them come first."""
    if live is None or live.results is None:
        return []
    name = f"{live.env} ({live.version})"
    if live.champion is None:
        return [(name, live.results.metrics)]
    recorded = (f"{name} own holdout", live.results.metrics)
    champion = live.champion
    if not champion.scored:
        return [recorded]
    columns = [(f"{name} on these rows", champion.metrics), recorded]
    if champion.candidate is not None and champion.candidate != new:
        columns.insert(0, (f"this change on these {champion.count:,} rows", champion.candidate))
    return columns


def _baseline_columns(baselines: dict[str, Any]) -> list[tuple[str, dict]]:
    """This change's baselines on the same holdout: trivial, then linear (when recorded)."""
    return [
        (f"{name} baseline", baselines[name]) for name in ("trivial", "linear") if name in baselines
    ]


def same_rows_note(live: Live) -> str:
    """The sentence under the metrics table that names the data each live number comes from."""
    champion, own = live.champion, f"its own holdout (`{paths.DATA_DVC}` md5 {_md5(live.data_md5)})"
    if champion is None:
        return ""
    if champion.scored:
        return (
            f"**Same rows:** *on these rows* is the model {live.env} serves ({live.version}, "
            f"fetched through DVC, sha256 checked against `{paths.MODELS_FILE}` before loading) "
            f"scored on {champion.rows} (row identities from each version's "
            f"`{paths.ROW_IDS}`); `max_regression` compares it with this change on the same "
            f"rows. *own holdout* is what {live.version} recorded on {own}."
        )
    return (
        f"**Not the same rows:** {live.env}'s {live.version} could not be scored on this change's "
        f"holdout: {_clause(champion.note)}. So `max_regression` compares with the metrics "
        f"{live.version} recorded on {own}, a different split when the data changed."
    )


def metrics_section(r: ReportData) -> list[str]:
    base_m, new_m = r.base.get("metrics") or {}, r.new.get("metrics") or {}
    live = r.live
    columns = _baseline_columns(r.new.get("baselines") or {}) + _live_columns(live, new_m)
    header = ["metric", r.base.label, r.new.label, "Δ", *(title for title, _ in columns)]
    header.append("gates")
    rows = []
    for name in r.metric_names:
        row = [
            f"`{name}`",
            fmt_num(base_m.get(name)),
            fmt_num(new_m.get(name)),
            delta(base_m.get(name), new_m.get(name), name in LOWER_IS_BETTER),
        ]
        row += [fmt_num(values.get(name)) for _, values in columns]
        row.append(_metric_gates(r.verdicts, name))
        rows.append(row)
    lines = [
        "### Metrics (holdout)",
        "",
        *table(header, rows, "lrrr" + "r" * len(columns) + "l"),
    ]
    notes = [line for line in r.base.missing if paths.METRICS in line]
    if live is not None and live.results is None:
        notes.append(f"{live.env}: {live.note}, so there is no live column")
    elif live is not None and same_rows_note(live):
        notes.append(same_rows_note(live))
    return lines + [""] + [f"> {NOTE} {n}" for n in notes] + ([""] if notes else [])


def _comparisons(verdicts: list[Verdict]) -> list[str]:
    """Per environment with a live version: what its regression gate compared with."""
    lines = [
        f"- {v.env} ({v.live.version}): {compared_with(v.live)}"
        for v in verdicts
        if v.live.results is not None
    ]
    if not lines:
        return []
    return ["`max_regression` compared this change with the live version:", "", *lines, ""]


def gates_section(r: ReportData) -> list[str]:
    rows = []
    for v in r.verdicts:
        for g in v.gates:
            rows.append(
                [
                    v.env,
                    g.gate,
                    f"`{g.metric}`",
                    fmt_num(g.value),
                    gate_threshold(g),
                    gate_mark(g),
                    g.detail,
                ]
            )
    lines = [
        "### Gates",
        "",
        "Each environment's `environments/<env>.yaml` `gates`, checked by "
        "`mlops gate --env <env>` (the same code).",
        "",
    ]
    return (
        lines
        + table(
            ["environment", "gate", "metric", "value", "threshold", "result", "detail"],
            rows,
            "lllrrcl",
        )
        + [""]
        + _comparisons(r.verdicts)
    )


def slices_section(r: ReportData) -> list[str]:
    slices = r.new.get("slices") or {}
    if slices and not slices.get("segment"):
        return [
            "### Slices",
            "",
            f"> {NOTE} no segment in `contract.yaml`: no slices. Name a category column as "
            "`segment:` there to see the metrics per segment (and a `max_slice_gap` gate).",
            "",
        ]
    new_s = slices.get("slices") or {}
    base_s = (r.base.get("slices") or {}).get("slices") or {}
    if not new_s:
        return ["### Slices", "", f"> {NOTE} no slices in the workspace", ""]
    metric, other = r.slice_metrics
    segment = slices.get("segment", "segment")
    worse = max if metric in LOWER_IS_BETTER else min
    values = {name: s.get(metric) for name, s in new_s.items() if s.get(metric) is not None}
    worst = worse(values, key=values.get) if values else None
    rows = []
    for name in sorted(new_s):
        s, b = new_s[name], base_s.get(name, {})
        label = f"**{name}** ⚠️ worst" if name == worst else name
        rows.append([label, fmt_num(s.get("rows"))])
        for m in (metric, other):
            rows[-1] += [
                fmt_num(b.get(m)),
                fmt_num(s.get(m)),
                delta(b.get(m), s.get(m), m in LOWER_IS_BETTER),
            ]
    header = [segment, "rows"]
    for m in (metric, other):
        header += [f"{m} base", f"{m} change", "Δ"]
    lines = [f"### Slices by {segment}", "", *table(header, rows), ""]
    if not base_s:
        lines += [f"> {NOTE} the base has no slices to compare with", ""]
    return lines


def params_section(r: ReportData) -> list[str]:
    lines = ["### Params (changed keys only)", ""]
    if r.base.params is None:
        return [*lines, f"> {NOTE} the base has no readable params.yaml", ""]
    if not r.params:
        return [*lines, "No params changed.", ""]
    rows = []
    for c in r.params:
        base = "(absent)" if c.added else f"`{c.base}`"
        new = "(removed)" if c.removed else f"`{c.new}`"
        rows.append([f"`{c.key}`", base, new])
    return lines + table(["key", r.base.label, r.new.label], rows, "lll") + [""]


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.2f}%"


def data_section(r: ReportData) -> list[str]:
    d = r.data

    def short(m):
        return f"`{m[:12]}`" if m else "—"

    same = " (unchanged)" if not d.changed else ""
    lines = [
        "### Data",
        "",
        f"- `{paths.DATA_DVC}` md5: {short(d.base_md5)} → {short(d.new_md5)}{same}",
        f"- rows: {fmt_num(d.base_rows)} → {fmt_num(d.new_rows)}",
    ]
    schema = []
    if d.added_columns:
        schema.append("added " + ", ".join(f"`{c}`" for c in d.added_columns))
    if d.removed_columns:
        schema.append("removed " + ", ".join(f"`{c}`" for c in d.removed_columns))
    schema += [f"`{c}` {a} → {b}" for c, a, b in d.dtype_changes]
    lines.append("- schema: " + ("; ".join(schema) if schema else "no change"))
    if d.null_changes:
        lines.append(
            "- null share: "
            + "; ".join(f"`{c}` {_pct(a)} → {_pct(b)}" for c, a, b in d.null_changes)
        )
    else:
        lines.append("- null share: no change")
    if d.drift is not None:
        t = d.drift
        flag = f"{FAIL} dataset drift" if t.dataset_drift else f"{PASS} no dataset drift"
        lines += [
            f"- drift (Evidently, new data against base data): {len(t.drifted)} of "
            f"{len(t.columns)} columns drifted ({t.share:.0%}; threshold "
            f"{t.drift_share:.0%}) — {flag}",
            "",
        ]
        rows = [
            [
                f"`{c.column}`",
                c.test,
                fmt_num(c.score),
                fmt_num(c.threshold, 2),
                FAIL if c.drifted else PASS,
            ]
            for c in t.top(5)
        ]
        lines += table(["column", "test", "score", "threshold", "drifted"], rows, "llrrc")
    lines += [""] + [f"> {NOTE} {n}" for n in d.notes] + ([""] if d.notes else [])
    return lines


def budget_section(r: ReportData) -> list[str]:
    rows = []
    for b in r.budget:
        places = 6 if b.unit == "USD" else 3
        rows.append(
            [
                f"{b.name}",
                f"{fmt_num(b.base, places)} {b.unit}",
                f"{fmt_num(b.new, places)} {b.unit}",
                delta(b.base, b.new, b.lower_is_better, places),
            ]
        )
    lines = [
        "### Serving budget",
        "",
        *table(["", r.base.label, r.new.label, "Δ"], rows),
        "",
        "Cost is CPU time per row of single-row predict calls (`cpu_ms_per_row_1` in "
        f"`{paths.SERVING}`) at each environment's `cost.usd_per_cpu_hour`.",
        "",
    ]
    return lines


def plots_section(r: ReportData) -> list[str]:
    lines = ["### Plots", ""]
    lines += [f"![{title}]({name})" for title, name in r.figures.items()]
    lines += [""] + [f"> {NOTE} {n}" for n in r.notes] + ([""] if r.notes else [])
    return lines


def reproduce_section(r: ReportData) -> list[str]:
    commit = r.new.commit[:10] if r.new.commit else "<this commit>"
    return [
        "### Reproduce",
        "",
        "```bash",
        f"git fetch origin && git checkout {commit}",
        "make setup              # the locked environment (uv.lock)",
        ".venv/bin/dvc pull      # data and cached stage outputs from the DVC remote",
        ".venv/bin/dvc repro     # the pipeline; dvc.lock pins every output",
        f".venv/bin/dvc metrics diff {r.rev}   # the same numbers, by DVC",
        f".venv/bin/mlops report --base {r.rev}",
        ".venv/bin/mlops gate    # exit 1 when a gate fails",
        "```",
        "",
    ]


def missing_section(r: ReportData) -> list[str]:
    lines = [line for line in r.base.missing + r.new.missing if paths.METRICS not in line]
    return (["### What is missing", ""] + [f"- {line}" for line in lines] + [""]) if lines else []


def markdown(r: ReportData) -> str:
    head = [
        f"## Model report: `{r.new.commit[:7] if r.new.commit else 'workspace'}` against `{r.rev}`",
        "",
        verdict_line(r.verdicts),
        "",
    ]
    body = [
        *metrics_section(r),
        *gates_section(r),
        *slices_section(r),
        *params_section(r),
        *data_section(r),
        *budget_section(r),
        *plots_section(r),
        *missing_section(r),
        *reproduce_section(r),
    ]
    foot = [f"<sub>`mlops report --base {r.rev}` in {r.seconds:.1f} s</sub>", ""]
    return "\n".join(head + body + foot)
