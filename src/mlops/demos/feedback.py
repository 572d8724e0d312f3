"""The feedback part of `make demo`: labelled traffic to a live server, its outcomes as a file
`mlops outcomes ingest` reads, and the live metric `mlops performance` wrote.

Traffic is made of real rows of the repository's table (``traffic.labelled``): each request
carries ``X-Request-ID``, each record is one row, and the outcome that "arrives later" for
``(request_id, row)`` is that row's real target. Nothing is invented, so the live figures are
what the model really scores on those rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlops.core.errors import MlopsError
from mlops.demos.traffic import Labelled
from mlops.feedback.outcomes import REQUEST_ID, ROW
from mlops.feedback.performance import OK, WITHIN_NOISE

BATCH = 50  # records per request


def send(server_url: str, traffic: Labelled, prefix: str, *, batch: int = BATCH) -> pd.DataFrame:
    """POST ``traffic`` to ``/predict``, ``batch`` records per request with request ids
    ``<prefix>-<n>``; return the outcomes the client learns later: request_id, row, target."""
    import httpx

    ids, rows = [], []
    with httpx.Client(base_url=server_url.rstrip("/"), timeout=30) as client:
        for start in range(0, len(traffic.records), batch):
            chunk = traffic.records[start : start + batch]
            request_id = f"{prefix}-{start // batch}"
            response = client.post(
                "/predict", json={"records": chunk}, headers={"X-Request-ID": request_id}
            )
            if response.status_code != 200:
                raise MlopsError(
                    f"{server_url}/predict answered {response.status_code}: {response.text[:300]}"
                )
            ids += [request_id] * len(chunk)
            rows += list(range(len(chunk)))
    return pd.DataFrame({REQUEST_ID: ids, ROW: rows, "outcome": traffic.outcomes})


def write_outcomes(outcomes: pd.DataFrame, target: str, path: Path) -> Path:
    """The outcome file as a team's label source would deliver it (CSV: request_id, row,
    <target>)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    outcomes.rename(columns={"outcome": target}).to_csv(path, index=False)
    return path


@dataclass(frozen=True)
class Figure:
    """The headline of one `mlops performance` run: one metric of the judged groups, its bar
    (of the version with the most labelled rows), how that bar was set, the trivial baseline,
    and the 95 % interval when one version was measured (with several, the value is their
    row-weighted mean, which has no interval of its own)."""

    metric: str
    value: float | None
    threshold: float | None
    status: str
    labelled: int
    versions: tuple[str, ...]
    trivial: float | None = None  # the version's trivial baseline on its holdout
    how: str = ""  # where the bar comes from
    low: float | None = None
    high: float | None = None

    def describe(self) -> str:
        value = "—" if self.value is None else f"{self.value:.4f}"
        if self.low is not None and self.high is not None:
            value += f" [{self.low:.4f}, {self.high:.4f}]"
        bar = "" if self.threshold is None else f" (bar {self.threshold:g})"
        base = "" if self.trivial is None else f", trivial baseline {self.trivial:.4g}"
        return f"{self.metric} {value}{bar}{base}: {self.status}, {self.labelled:,} labelled rows"


def figure(report: Path) -> Figure:
    """The first thresholded metric (else the first measured one) of ``performance.json``,
    over its stable groups (the row-weighted mean when several versions are in the window)."""
    result: dict[str, Any] = json.loads(report.read_text())
    groups = [g for g in result["groups"] if g["metrics"] and g["route"] == "stable"]
    judged = [m for g in groups for m, row in g["metrics"].items() if "threshold" in row]
    names = judged or [m for g in groups for m in g["metrics"]]
    if not names:
        return Figure("—", None, None, result["status"], 0, ())
    name = names[0]
    measured = [g for g in groups if name in g["metrics"]]
    n = sum(g["labelled"] for g in measured)
    value = sum(g["metrics"][name]["value"] * g["labelled"] for g in measured) / n
    main = max(measured, key=lambda g: g["labelled"])
    row, bar = main["metrics"][name], main.get("bars", {}).get(name, {})
    low, high = (row.get("low"), row.get("high")) if len(measured) == 1 else (None, None)
    return Figure(
        name, value, row.get("threshold"), result["status"], n,
        tuple(g["version"] for g in measured), row.get("trivial"), bar.get("how", ""), low, high,
    )  # fmt: skip


class StoryError(MlopsError):
    """`make demo` did not show what it claims: the run stops with this reason (exit 1)."""

    exit_code = 1


class Undecided(StoryError):
    """After every labelled round the table could give, the retrained version's live figure is
    still within noise of its bar: neither shown to meet it nor to miss it. The story does not
    call that a recovery, nor a failure of the loop: exit 3, after the rest of the story ran."""

    exit_code = 3


MOST_ROUNDS = 6  # extra rounds at most: bounds the run's time and how often the interval is read


def settle(
    first: Figure, next_round: Callable[[int], Figure | None], most: int = MOST_ROUNDS
) -> tuple[Figure, int, bool]:
    """While the live figure is within noise of its bar, ``next_round(k)`` sends round ``k``
    of fresh labelled traffic and returns the figure over every round so far (None: no row
    left). Returns the last figure, the rounds added and whether rows ran out first."""
    fig, added = first, 0
    while fig.status == WITHIN_NOISE and added < most:
        more = next_round(added + 1)
        if more is None:
            return fig, added, True
        fig, added = more, added + 1
    return fig, added, False


def check_recovered(fig: Figure | None, env: str, *, rounds: int = 0, used_up: bool = False) -> str:
    """The story's last claim, checked on the retrained version's live figure on fresh traffic
    of the moved population (``rounds`` extra rounds after the first): at or above its bar
    (returns the line that says so); within noise of it with no round left to tell
    (``Undecided``); below it beyond noise, or not measured (``StoryError``, saying why and
    what to try)."""
    if fig is not None and fig.threshold is not None and fig.status == OK:
        told = f"live performance recovered, at or above its bar: {fig.describe()}"
        return f"{told}; the bar: {fig.how}"
    if fig is not None and fig.threshold is not None and fig.status == WITHIN_NOISE:
        low, high = ("—" if v is None else f"{v:.4f}" for v in (fig.low, fig.high))
        why = ("every labelled row of the moved population was used" if used_up else
               f"{rounds} more rounds (the most the story sends) did not tell")  # fmt: skip
        raise Undecided(
            f"too few labelled rows to tell on this table: {fig.labelled:,} rows, interval "
            f"[{low}, {high}] around the bar {fig.threshold:g} ({fig.metric} {fig.value:.4f} "
            f"after the retrain, {rounds} more round(s) of fresh traffic; {why}). The retrained "
            "version was neither shown to meet its bar nor to miss it, so the story does not "
            f"call this a recovery (the bar: {fig.how}). A larger table, or more labelled "
            "traffic, tells"
        )
    shown = "no live figure" if fig is None else fig.describe()
    how = fig.how if fig is not None and fig.how else "none"
    raise StoryError(
        f"the loop did not recover: after the retrain, {shown} (the bar: {how}; set in "
        f"environments/{env}.yaml monitoring.min_live). The old rows may still teach "
        "the old relation: in params.yaml, refresh.keep_rows keeps only the newest rows (train "
        "and holdout follow the new population) or train.recency.half_life weighs them more; "
        "or gather more labelled traffic. Then run `make demo` again"
    )
