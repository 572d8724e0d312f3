"""Gather every fact the report shows into one ``ReportData``; ``render`` only formats it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mlops.core import paths
from mlops.evaluation import scoring
from mlops.formats import environments, models_file
from mlops.formats.contract import load_contract
from mlops.quality import champion, gates
from mlops.report import budget, data, params_diff, plots, render
from mlops.report.sides import Side, base_side, require_workspace_results, workspace_side

LIVE_COLUMN_ENV = "production"  # the metrics table shows what this environment serves
# The second metric of the slice table, per task (the first: the gated or headline metric).
SLICE_SECOND = {"binary": "f1", "multiclass": "accuracy", "regression": "mae"}


@dataclass
class ReportData:
    rev: str
    base: Side
    new: Side
    metric_names: list[str]
    verdicts: list[gates.Verdict]
    live: gates.Live | None
    params: list[params_diff.ParamChange]
    data: data.DataSection
    budget: list[budget.BudgetRow]
    task: str = "binary"
    slice_metrics: tuple[str, str] = ("roc_auc", "f1")
    figures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _metric_names(base: Side, new: Side, envs: dict[str, environments.Environment]) -> list[str]:
    """Gated metrics first (in the order the environments name them), then the rest A-Z."""
    present = set(new.get("metrics") or {}) | set(base.get("metrics") or {})
    gated = [m for e in envs.values() for m in (*e.gates.min, *e.gates.max_regression)]
    first = [m for m in dict.fromkeys(gated) if m in present]
    return first + sorted(present - set(first))


def _slice_metrics(envs: dict[str, environments.Environment], task: str) -> tuple[str, str]:
    """The metric a ``max_slice_gap`` gate names (else the task's headline), and a second."""
    gated = [m for env in envs.values() for m in env.gates.max_slice_gap]
    first = gated[0] if gated else scoring.HEADLINE[task]
    second = SLICE_SECOND[task]
    return first, (second if second != first else scoring.HEADLINE[task])


def collect(root: str | Path, rev: str) -> ReportData:
    """Everything the report says about the workspace against ``rev``; draws nothing."""
    root = Path(root)
    base = base_side(root, rev)
    new = workspace_side(root)
    require_workspace_results(new)
    envs = environments.load_all(root)
    models = models_file.load(root / paths.MODELS_FILE)
    candidate = gates.Results(
        new.get("metrics") or {},
        new.get("slices") or {},
        new.get("serving") or {},
        baselines=new.get("baselines") or {},
    )
    # the live model of each environment, scored on this change's holdout rows (once each)
    scorer = champion.Scorer.for_workspace(root)
    verdicts = [gates.verdict(root, name, candidate, models, scorer) for name in envs]
    live = next((v.live for v in verdicts if v.env == LIVE_COLUMN_ENV), None)
    drift_share = min((e.drift_share for e in envs.values()), default=0.3)
    task = load_contract(root).task
    return ReportData(
        rev=rev,
        base=base,
        new=new,
        metric_names=_metric_names(base, new, envs),
        verdicts=verdicts,
        live=live,
        params=params_diff.diff(base.params, new.params),
        data=data.collect(root, base, new, rev, drift_share),
        budget=budget.rows(
            base.get("serving"),
            new.get("serving"),
            {name: e.usd_per_cpu_hour for name, e in envs.items()},
        ),
        task=task,
        slice_metrics=_slice_metrics(envs, task),
    )


def build(root: str | Path, rev: str, out: str | Path = paths.PR_REPORT) -> tuple[Path, ReportData]:
    """Write the markdown report and its PNG plots (next to it); return its path and data."""
    started = time.perf_counter()
    root = Path(root)
    out = Path(out) if Path(out).is_absolute() else root / out
    report = collect(root, rev)
    out.parent.mkdir(parents=True, exist_ok=True)
    report.figures, report.notes = plots.draw(
        root, report.base, report.new, out.parent, report.task
    )
    report.seconds = time.perf_counter() - started
    out.write_text(render.markdown(report))
    return out, report
