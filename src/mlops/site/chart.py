"""Inline SVG charts, generated here: no JavaScript, no library, nothing loaded from a network.

``metric_chart`` draws one metric across versions (oldest left), marks the versions live in an
environment, and draws a gate threshold as a dashed line. The page shows one per main metric
(small multiples: each metric keeps its own scale, so a 0.01 change in roc_auc stays visible).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

WIDTH, HEIGHT = 360, 180
LEFT, RIGHT, TOP, BOTTOM = 48, 14, 14, 30
PAD = 10
# Okabe-Ito colours (the last two darkened): told apart with colour-blindness, >= 3:1 on white
MARKS = ("#0072B2", "#D55E00", "#009E73", "#AA3377", "#8A6D00")
LINE = "#444444"


@dataclass
class Series:
    metric: str
    versions: list[str]
    values: list[float | None]
    marks: dict[str, list[int]] = field(default_factory=dict)  # label -> indexes of versions
    threshold: tuple[str, float] | None = None  # ("production ≥", 0.8)


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step = next(s * step for s in (1, 2, 2.5, 5, 10) if s * step >= raw)
    first = math.ceil(low / step) * step
    return [first + k * step for k in range(int((high - first) / step) + 1)]


def _bounds(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.01 or 0.01
    return low - pad, high + pad


def _x_labels(n: int, limit: int = 4) -> list[int]:
    if n <= limit:
        return list(range(n))
    return sorted({round(k * (n - 1) / (limit - 1)) for k in range(limit)})


def metric_chart(series: Series) -> str:
    """One ``<svg>`` (role img, with a title and a text summary) for ``series``."""
    points = [(i, v) for i, v in enumerate(series.values) if v is not None]
    if not points:
        return ""
    values = [v for _, v in points]
    if series.threshold:
        values.append(series.threshold[1])
    low, high = _bounds(values)
    n = len(series.values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:  # a margin inside the axes keeps end points clear of the labels
        inner = plot_w - 2 * PAD
        return LEFT + PAD + (inner * i / (n - 1) if n > 1 else inner / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    name = html.escape(series.metric)
    first, last = series.values[0], series.values[-1]
    summary = (
        f"{name} across {n} versions, from {_fmt(first)} ({html.escape(series.versions[0])}) "
        f"to {_fmt(last)} ({html.escape(series.versions[-1])}); "
        f"lowest {_fmt(min(v for _, v in points))}, highest {_fmt(max(v for _, v in points))}"
    )
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-{name}-t" '
        f'class="chart" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{name}-t">{summary}</title>',
    ]
    for tick in _ticks(low, high):
        ty = y(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick:.3g}</text>'
        )
    for i in _x_labels(n):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="{_anchor(i, n)}">'
            f"{html.escape(series.versions[i])}</text>"
        )
    if series.threshold:
        label, value = series.threshold
        ty = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" class="gate"/>'
            f'<text x="{WIDTH - RIGHT}" y="{ty - 4:.1f}" text-anchor="end" class="gate-label">'
            f"{html.escape(label)} {value:g}</text>"
        )
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="1.5"/>')
    if n <= 60:
        parts += [
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.2" fill="{LINE}"/>' for i, v in points
        ]
    count = len(series.marks)
    for k, (label, indexes) in enumerate(series.marks.items()):
        colour, radius = MARKS[k % len(MARKS)], 3 + 3 * (count - 1 - k)
        for i in indexes:
            if series.values[i] is None:
                continue
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(series.values[i]):.1f}" r="{radius}" '
                f'fill="none" stroke="{colour}" stroke-width="2">'
                f"<title>{html.escape(label)}: {html.escape(series.versions[i])} "
                f"{_fmt(series.values[i])}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def legend(labels: list[str]) -> str:
    """The key of the environment marks, as an HTML list (readable by screen readers)."""
    items = "".join(
        f'<li><svg viewBox="0 0 14 14" width="14" height="14" aria-hidden="true">'
        f'<circle cx="7" cy="7" r="5" fill="none" stroke="{MARKS[k % len(MARKS)]}" '
        f'stroke-width="2.5"/></svg> {html.escape(label)}</li>'
        for k, label in enumerate(labels)
    )
    return f'<ul class="legend">{items}</ul>'


def _anchor(i: int, n: int) -> str:
    if n > 1 and i == 0:
        return "start"
    return "end" if n > 1 and i == n - 1 else "middle"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@dataclass
class Lane:
    """One environment's stable (and canary) version after each change, in change order."""

    env: str
    stable: list[int | None]  # version index per change (None: nothing deployed)
    canary: list[int | None]
    rollbacks: list[int] = field(default_factory=list)  # change indexes that were rollbacks


def _steps(values: list[int | None], x, y) -> list[str]:
    """Polyline point lists of a step function (a gap where nothing is deployed)."""
    runs, current = [], []
    for i, value in enumerate(values):
        if value is None:
            if current:  # the last version held until this change removed it
                runs.append([*current, f"{x(i):.1f},{y(values[i - 1]):.1f}"])
            current = []
            continue
        if current:
            current.append(f"{x(i):.1f},{y(values[i - 1]):.1f}")
        current.append(f"{x(i):.1f},{y(value):.1f}")
    if current:
        current.append(f"{x(len(values)):.1f},{y(values[-1]):.1f}")
        runs.append(current)
    return [" ".join(run) for run in runs]


def timeline_chart(lanes: list[Lane], versions: list[str], changes: int) -> str:
    """Which version each environment served after each change (steps; canaries dashed),
    rollbacks marked with a red triangle."""
    if not lanes or not versions or not changes:
        return ""
    width, height, left = 720, 220, 64
    plot_w, plot_h = width - left - RIGHT, height - TOP - BOTTOM

    def x(i: int) -> float:
        return left + plot_w * i / changes

    def level(v: int) -> float:
        return TOP + plot_h * (1 - (v / (len(versions) - 1) if len(versions) > 1 else 0.5))

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="timeline-t" '
        f'class="chart timeline-chart" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="timeline-t">Version live in each environment after each of {changes} '
        f"changes of models.yaml; {sum(len(lane.rollbacks) for lane in lanes)} rollbacks</title>",
    ]
    for v in _x_labels(len(versions), 5):
        parts.append(
            f'<line x1="{left}" x2="{width - RIGHT}" y1="{level(v):.1f}" y2="{level(v):.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{level(v) + 4:.1f}" text-anchor="end">'
            f"{html.escape(versions[v])}</text>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 8}">first change</text>'
        f'<text x="{width - RIGHT}" y="{height - 8}" text-anchor="end">latest</text>'
    )
    for k, lane in enumerate(lanes):
        colour, shift = MARKS[k % len(MARKS)], 4 * (k - (len(lanes) - 1) / 2)

        def y(v: int, shift: float = shift) -> float:  # lanes apart: equal versions both show
            return level(v) + shift

        for points in _steps(lane.stable, x, y):
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
            )
        for points in _steps(lane.canary, x, y):
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
                'stroke-dasharray="4 3"/>'
            )
        for i in lane.rollbacks:
            value = lane.stable[i] if lane.stable[i] is not None else 0
            cx, cy = x(i), y(value)
            parts.append(
                f'<path d="M{cx:.1f},{cy - 9:.1f} l6,10 h-12 z" fill="#a4161a">'
                f"<title>rollback in {html.escape(lane.env)}</title></path>"
            )
    parts.append("</svg>")
    return "".join(parts)
