"""The model card: what a version is for, what it was trained on, how well it does, what it costs.

``render`` is the one entry point: the pipeline's ``card`` stage writes ``reports/model_card.md``
with it, and ``mlops register`` calls it again with the version and the commit it tags, so the
card stored with a version names both.

Why the pipeline's card names no commit: the stage's output must be a function of its deps only,
or ``dvc repro`` on the same inputs would give different bytes (and a card committed in commit C
can never contain C's own hash). So the workspace card describes lineage by content (data.dvc
md5, model sha256, params) and points at ``git log``; a registered version's card, rendered
from the tag, carries the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops import cost, environments, params, paths
from mlops.data import schema

MODEL_NAME = "churn-model"
# Edit these three when the template carries your own model.
PURPOSE = (
    "Scores each customer with the probability that they cancel (churn) in the coming period, "
    "so the retention team can contact the riskiest customers first."
)
INTENDED_USE = (
    "Ranking existing customers of the supported products and regions for retention outreach; "
    "one record per customer with the features below, validated against the data schema."
)
LIMITS = (
    "Not for decisions with legal or credit effect on a person. Trained on one population: "
    "traffic outside the feature ranges, new categories or a changed regional mix make its scores "
    "unreliable (`mlops drift` watches for this). Scores are probabilities from the holdout's "
    "calibration at training time; re-check the threshold when churn base rates move."
)
LINEAGE_PARAMS = ("split", "train", "evaluate")


@dataclass
class CardInputs:
    """Everything a card shows; built from the workspace or from a version's tag metadata."""

    metrics: dict[str, float]
    slices: dict[str, Any]
    serving: dict[str, Any]
    params: dict[str, Any]
    data_md5: str
    model_sha256: str = ""
    rows: dict[str, int] = field(default_factory=dict)  # data / train / holdout
    positive_rate: float | None = None
    rates: dict[str, float] = field(default_factory=dict)  # env -> usd_per_cpu_hour
    gaps_allowed: dict[str, dict[str, float]] = field(default_factory=dict)  # env -> metric -> gap


def _count_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


def _env_policies(root: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    envs = environments.load_all(root)
    return (
        {n: e.usd_per_cpu_hour for n, e in envs.items()},
        {n: e.gates.max_slice_gap for n, e in envs.items()},
    )


def from_workspace(root: str | Path = ".") -> CardInputs:
    """Card inputs from the files the pipeline wrote (the card stage's deps)."""
    from mlops import model_io
    from mlops.io_utils import read_json

    root = Path(root)
    data_md5 = yaml.safe_load((root / paths.DATA_DVC).read_text())["outs"][0]["md5"]
    train = schema.read_table(root / paths.TRAIN)
    rates, gaps = _env_policies(root)
    return CardInputs(
        metrics=read_json(root / paths.METRICS),
        slices=read_json(root / paths.SLICES),
        serving=read_json(root / paths.SERVING),
        params=params.load(root / params.PARAMS_FILE),
        data_md5=data_md5,
        model_sha256=model_io.sha256(root / paths.MODEL),
        rows={
            "data": _count_rows(root / paths.DATA),
            "train": len(train),
            "holdout": _count_rows(root / paths.HOLDOUT),
        },
        positive_rate=round(float(train[schema.TARGET].mean()), 4),
        rates=rates,
        gaps_allowed=gaps,
    )


def from_metadata(metadata: dict[str, Any], root: str | Path | None = None) -> CardInputs:
    """Card inputs from a version's tag metadata (``registry.workspace_metadata`` format)."""
    rates, gaps = _env_policies(Path(root)) if root is not None else ({}, {})
    return CardInputs(
        metrics=metadata.get("metrics", {}),
        slices=metadata.get("slices", {}),
        serving=metadata.get("serving", {}),
        params=metadata.get("params", {}),
        data_md5=metadata.get("data_md5", ""),
        model_sha256=metadata.get("sha256", ""),
        rates=rates,
        gaps_allowed=gaps,
    )


# ---------------------------------------------------------------------------------------------
# markdown sections (each a pure function of the inputs)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _features() -> list[str]:
    lines = ["| feature | type | valid values | nulls | meaning |", "|---|---|---|---|---|"]
    for c in schema.COLUMNS:
        values = f"{c.low:g} – {c.high:g}" if c.numeric else ", ".join(c.categories)
        lines.append(
            f"| `{c.name}` | {c.kind} | {values} | {'allowed' if c.nullable else 'no'} "
            f"| {c.description} |"
        )
    lines.append(
        f"\nTarget: `{schema.TARGET}` (1 = churned). Segment for slices: "
        f"`{schema.SEGMENT}`. Definition: `src/mlops/data/schema.py` (training and "
        "serving validate against it)."
    )
    return lines


def _metrics(inputs: CardInputs) -> list[str]:
    threshold = inputs.params.get("evaluate", {}).get("threshold")
    lines = [
        f"Holdout ({inputs.rows.get('holdout', '?')} rows), decision threshold {threshold}:",
        "",
        "| metric | value |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(inputs.metrics.items())]
    return lines


SLICE_METRICS = ("rows", "positive_rate", "roc_auc", "f1", "precision", "recall")


def slice_gaps(slices: dict[str, Any]) -> dict[str, tuple[float, str, str]]:
    """metric -> (best minus worst, worst segment, best segment)."""
    values = slices.get("slices", {})
    out = {}
    for metric in ("roc_auc", "f1", "precision", "recall", "accuracy"):
        have = {name: s[metric] for name, s in values.items() if metric in s}
        if have:
            worst, best = min(have, key=have.get), max(have, key=have.get)
            out[metric] = (round(have[best] - have[worst], 6), worst, best)
    return out


def _slices(inputs: CardInputs) -> list[str]:
    values = inputs.slices.get("slices", {})
    if not values:
        return ["No slice metrics recorded."]
    segment = inputs.slices.get("segment", schema.SEGMENT)
    lines = [
        f"Per `{segment}`:",
        "",
        "| " + " | ".join([segment, *SLICE_METRICS]) + " |",
        "|---" + "|---:" * len(SLICE_METRICS) + "|",
    ]
    for name, s in sorted(values.items()):
        lines.append("| " + " | ".join([name, *(_fmt(s.get(m, "")) for m in SLICE_METRICS)]) + " |")
    lines += [
        "",
        "### Gaps between segments",
        "",
        "| metric | gap (best − worst) | worst | best | allowed |",
        "|---|---:|---|---|---|",
    ]
    for metric, (gap, worst, best) in slice_gaps(inputs.slices).items():
        allowed = (
            ", ".join(
                f"{env} ≤ {g[metric]:g}"
                for env, g in sorted(inputs.gaps_allowed.items())
                if metric in g
            )
            or "no gate"
        )
        lines.append(f"| {metric} | {gap:.4f} | {worst} | {best} | {allowed} |")
    return lines


def _serving(inputs: CardInputs) -> list[str]:
    s = inputs.serving
    if not s:
        return ["No serving budget recorded."]
    lines = [
        f"In-process prediction on the served path ({s.get('inference', 'pipeline')}, "
        "`mlops.inference`), measured by the evaluate stage:",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| model size | {s.get('model_mb', '?')} MB |",
    ]
    for key, label in (("latency_ms_1_row", "1 row"), ("latency_ms_100_rows", "100 rows")):
        if key in s:
            lines.append(
                f"| latency, {label} (p50 / p95) | {s[key].get('p50')} / {s[key].get('p95')} ms |"
            )
    for batch in (1, 100):
        if f"cpu_ms_per_row_{batch}" in s:
            lines.append(f"| CPU per row, batches of {batch} | {s[f'cpu_ms_per_row_{batch}']} ms |")
    if inputs.rates:
        lines += [
            "",
            "Cost per 1,000 predictions (CPU time × `cost.usd_per_cpu_hour`):",
            "",
            "| environment | $/CPU-hour | single-row requests | batches of 100 |",
            "|---|---:|---:|---:|",
        ]
        for env, rate in sorted(inputs.rates.items()):
            one = cost.format_usd(cost.from_serving_budget(s, rate, 1))
            hundred = cost.format_usd(cost.from_serving_budget(s, rate, 100))
            lines.append(f"| {env} | {rate:g} | {one} | {hundred} |")
    return lines


def _lineage(inputs: CardInputs, commit: str | None) -> list[str]:
    where = (
        f"`{commit}`"
        if commit
        else "the commit that contains this file (`git log -1 -- reports/model_card.md`); the "
        "card stored with a registered version names it"
    )
    lines = [f"- Commit: {where}", f"- Data: `{paths.DATA_DVC}` md5 `{inputs.data_md5}`"]
    if inputs.model_sha256:
        lines.append(f"- Model: `{paths.MODEL}` {inputs.model_sha256}")
    lines += ["- Params (`params.yaml`):", "", "```yaml"]
    chosen = {k: inputs.params[k] for k in LINEAGE_PARAMS if k in inputs.params}
    lines += [yaml.safe_dump(chosen, sort_keys=True).rstrip(), "```"]
    return lines


RETRAIN = [
    "1. Change `params.yaml`, the data (`dvc add data` after replacing `data/`) or `src/`.",
    "2. `dvc repro` (runs only the stages whose inputs changed; this card is the last one), then "
    "`dvc push`.",
    "3. Open a pull request: CI reproduces the pipeline and posts the metric diff and gates.",
    "4. Merging registers a new version (`churn-model@vX.Y.Z`, with this card); "
    "`mlops promote staging vX.Y.Z` deploys it.",
]


def render_inputs(
    inputs: CardInputs,
    *,
    version: str | None = None,
    commit: str | None = None,
    model: str = MODEL_NAME,
) -> str:
    """The card as markdown. The same inputs always give the same bytes."""
    title = f"{model} {version}" if version else f"{model} (workspace build)"
    rows = inputs.rows
    data = [f"- `{paths.DATA}`, pinned by `{paths.DATA_DVC}` (md5 `{inputs.data_md5}`)"]
    if rows:
        data.append(
            f"- {rows.get('data', '?')} rows: {rows.get('train', '?')} for training, "
            f"{rows.get('holdout', '?')} holdout (stratified by target and "
            f"`{schema.SEGMENT}`)"
        )
    if inputs.positive_rate is not None:
        data.append(f"- Churn rate in the training split: {inputs.positive_rate}")
    parts = [
        f"# Model card: {title}",
        "",
        "_Generated by the `card` stage of `dvc.yaml` (`src/mlops/card.py`); do not edit by "
        "hand — change the inputs and run `dvc repro`._",
        "",
        "## Purpose",
        "",
        PURPOSE,
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Limits",
        "",
        LIMITS,
        "",
        "## Training data",
        "",
        *data,
        "",
        "## Features",
        "",
        *_features(),
        "",
        "## Metrics",
        "",
        *_metrics(inputs),
        "",
        "## Slices",
        "",
        *_slices(inputs),
        "",
        "## Serving budget",
        "",
        *_serving(inputs),
        "",
        "## Lineage",
        "",
        *_lineage(inputs, commit),
        "",
        "## How to retrain",
        "",
        *RETRAIN,
    ]
    return "\n".join(parts) + "\n"


def render(
    root: str | Path = ".",
    *,
    version: str | None = None,
    commit: str | None = None,
    metadata: dict[str, Any] | None = None,
    model: str = MODEL_NAME,
) -> str:
    """The model card for the workspace (default) or for a version's tag ``metadata``.

    ``mlops register`` calls ``render(root, version="v1.3.0", commit=sha)`` (or with
    ``metadata=`` the tag's JSON) and stores the text with the version.
    """
    inputs = from_metadata(metadata, root) if metadata is not None else from_workspace(root)
    if metadata is not None and commit is None:
        commit = metadata.get("commit")
    return render_inputs(inputs, version=version, commit=commit, model=model)
