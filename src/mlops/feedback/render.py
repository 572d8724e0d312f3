"""`mlops performance` as markdown (the step summary, an issue body) and a standalone HTML page."""

from __future__ import annotations

import html
from pathlib import Path

from mlops.core.io_utils import write_json
from mlops.evaluation.metric_names import LOWER_IS_BETTER
from mlops.feedback.performance import (
    BELOW,
    MET,
    MISSED,
    NOISE,
    NOT_ENOUGH,
    OK,
    WITHIN_NOISE,
    Result,
)

VERDICT = {
    OK: "✅ ok",
    WITHIN_NOISE: "⚠️ within noise of its bar at 95 %",
    BELOW: "❌ below threshold",
    NOT_ENOUGH: "⏳ not enough outcomes yet",
}
# one metric against its bar: met, missed within noise (no alarm), missed beyond noise
METRIC_VERDICT = {
    MET: "✅",
    NOISE: "⚠️ below, within noise at 95 %",
    MISSED: "❌ below, beyond noise at 95 %",
}


def _num(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def _threshold(name: str, row: dict) -> str:
    if "threshold" not in row:
        return ""
    bar = "≤" if name in LOWER_IS_BETTER else "≥"
    weak = " ⚠️ the trivial baseline meets it" if row.get("bar_met_by_trivial") else ""
    return f"{bar} {row['threshold']:g} {METRIC_VERDICT[row['verdict']]}{weak}"


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    align = ["---"] + ["---:"] * (len(header) - 1)
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _verdict(group) -> str:
    if group.route == "shadow":
        return VERDICT[group.status] + " (shadow: what it would have answered; not judged)"
    return VERDICT[group.status] + ("" if group.deployed else " (no longer deployed: not judged)")


def summary_rows(result: Result) -> list[list[str]]:
    return [
        [g.version, g.route, f"{g.predictions:,}", f"{g.labelled:,}", f"{g.coverage:.1%}",
         _verdict(g)]
        for g in result.groups
    ]  # fmt: skip


def metric_rows(result: Result) -> list[tuple[str, list[list[str]], list[str]]]:
    """Per measured group: its title, its metric table and how each of its bars was set."""
    out = []
    for g in result.groups:
        if not g.metrics:
            continue
        rows = [
            [f"`{name}`", _num(m["value"]), f"[{_num(m['low'])}, {_num(m['high'])}]",
             _num(m["holdout"]), _num(m.get("trivial")), _num(m.get("linear")),
             _threshold(name, m)]
            for name, m in g.metrics.items()
        ]  # fmt: skip
        out.append((f"{g.version} · {g.route} · {g.labelled:,} labelled rows", rows, bar_lines(g)))
    return out


def bar_lines(group) -> list[str]:
    """One line per bar of the group's version: its value and where it comes from."""
    lines = []
    for name, bar in group.bars.items():
        value = bar.get("value")
        shown = "none" if value is None else f"{'≤' if name in LOWER_IS_BETTER else '≥'} {value:g}"
        lines.append(f"bar `{name}` {shown}: {bar['how']}")
    return lines


INTERVALS = {
    "binary": "bootstrap of the confusion matrix (label metrics), Hanley-McNeil (ROC AUC), "
    "normal interval of the mean (log loss)",
    "multiclass": "bootstrap of the confusion matrix (accuracy, macro_f1), normal interval of "
    "the mean (log loss)",
    "regression": "normal interval of the mean (mae) and of the mean squared error (rmse, r2)",
}
SUMMARY = ["version", "route", "predictions", "labelled", "coverage", "verdict"]
METRICS = ["metric", "live", "95% interval", "holdout", "trivial", "linear", "threshold"]


def _intro(result: Result) -> list[str]:
    window = "all logged predictions"
    if result.since:
        moment = result.since[:1].isdigit() and "-" in result.since  # an ISO time, not 24h
        window = (
            f"predictions logged since {result.since}" if moment else f"the last {result.since}"
        )
    lines = [
        f"## Live performance in {result.env}: {VERDICT[result.status]}",
        "",
        f"{result.model} ({result.task}): {window}, joined to the outcomes stored for "
        f"{result.env} by request id. {result.logged:,} logged predictions, "
        f"{result.outcomes:,} outcomes stored.",
        f"Thresholds from {result.threshold_source}; a verdict needs at least "
        f"{result.min_outcomes:,} labelled rows (`monitoring.min_outcomes`).",
    ]
    if result.unused_thresholds:
        lines.append(
            f"Not measured live for a {result.task} task, so not applied: "
            + ", ".join(f"`{m}`" for m in result.unused_thresholds)
        )
    return lines


def markdown(result: Result) -> str:
    lines = [*_intro(result), ""]
    if not result.groups:
        lines.append(
            "Nothing logged in this window yet: no verdict. Predictions appear once the server "
            "logs traffic; outcomes once `mlops outcomes ingest` stores them."
        )
        return "\n".join(lines) + "\n"
    lines += _table(summary_rows(result), SUMMARY)
    for title, rows, how in metric_rows(result):
        lines += ["", f"### {title}", "", *_table(rows, METRICS), "", *(f"- {h}" for h in how)]
    lines += [
        "",
        f"Intervals: {INTERVALS[result.task]}. Holdout: the version's registered "
        "metrics; trivial and linear: its baselines on the same holdout (majority class or "
        "mean; a plain linear model). A bar is judged with the interval: a live figure worse "
        "than its bar fails only when its whole 95 % interval is (❌ beyond noise); when the "
        "interval still reaches the bar the shortfall is within noise (⚠️, no alarm; more "
        "outcomes will tell). Live at or below the trivial baseline means the model "
        "adds nothing. Live below the holdout by more than its interval means the population "
        "moved: `mlops data refresh` and a retrain PR.",
    ]
    return "\n".join(lines) + "\n"


def _html_table(rows: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c.strip('`'))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(result: Result) -> str:
    intro = _intro(result)
    parts = [f"<h1>{html.escape(intro[0].removeprefix('## '))}</h1>"]
    parts += [f"<p>{html.escape(line)}</p>" for line in intro[2:]]
    parts.append(_html_table(summary_rows(result), SUMMARY))
    for title, rows, how in metric_rows(result):
        parts += [f"<h2>{html.escape(title)}</h2>", _html_table(rows, METRICS)]
        parts += [f"<p>{html.escape(h.replace('`', ''))}</p>" for h in how]
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:.3em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Live performance: {html.escape(result.env)}</title><style>{style}</style>"
        f"</head><body>{''.join(parts)}</body></html>\n"
    )


def write_reports(result: Result, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "markdown": out / "performance.md",
        "json": out / "performance.json",
        "html": out / "performance.html",
    }
    files["markdown"].write_text(markdown(result))
    write_json(files["json"], result.to_dict())
    files["html"].write_text(page(result))
    return files
