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

from mlops.core import paths
from mlops.evaluation import cost
from mlops.formats import environments, params
from mlops.formats.contract import Contract, load_contract
from mlops.model.card_metrics import calibration_section, metrics_section
from mlops.model.card_slices import slices_section

# The purpose is the contract's `description` (write it there); these fill in per task.
PURPOSE = {
    "binary": "Scores each record with the probability that `{target}` is `{positive}`.",
    "multiclass": "Predicts the class of `{target}` for each record ({classes}), with the "
    "probability of every class.",
    "regression": "Predicts the value of `{target}` for each record.",
}
INTENDED_USE = (
    "Records like the training table, one per row, with the features below; every request is "
    "validated against the contract the model was trained with (`contract.yaml`)."
)
LIMITS = {
    "binary": "Scores are the model's probabilities, not recalibrated: see Calibration for how "
    "far they are from observed rates; re-check the decision threshold when the positive rate "
    "moves.",
    "multiclass": "Probabilities are the model's own, not recalibrated (see Calibration); rare "
    "classes have the least reliable recall (see the per-class recall).",
    "regression": "Predictions outside the target's training range are extrapolations; check "
    "the residuals plot for where errors grow.",
}
LIMITS_COMMON = (
    "Not for decisions with legal or credit effect on a person without review. Trained on one "
    "population: traffic outside the feature ranges, new categories or a changed segment mix "
    "make its predictions unreliable (`mlops drift` watches for this). "
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
    contract: Contract | None = None  # the contract the model was trained with
    baselines: dict[str, Any] = field(default_factory=dict)  # reports/baselines.json


def _env_policies(root: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    envs = environments.load_all(root)
    return (
        {n: e.usd_per_cpu_hour for n, e in envs.items()},
        {n: e.gates.max_slice_gap for n, e in envs.items()},
    )


def from_workspace(root: str | Path = ".") -> CardInputs:
    """Card inputs from the files the pipeline wrote (the card stage's deps)."""
    from mlops.core.io_utils import read_json
    from mlops.model import model_io

    root = Path(root)
    data_md5 = yaml.safe_load((root / paths.DATA_DVC).read_text())["outs"][0]["md5"]
    contract = load_contract(root)
    train = _target_only(root / paths.TRAIN, contract)
    rates, gaps = _env_policies(root)
    baselines = root / paths.BASELINES
    return CardInputs(
        baselines=read_json(baselines) if baselines.is_file() else {},
        metrics=read_json(root / paths.METRICS),
        slices=read_json(root / paths.SLICES),
        serving=read_json(root / paths.SERVING),
        params=params.load(root / params.PARAMS_FILE),
        data_md5=data_md5,
        model_sha256=model_io.sha256(root / paths.MODEL),
        rows=_rows(root),
        positive_rate=_positive_rate(train, contract),
        rates=rates,
        gaps_allowed=gaps,
        contract=contract,
    )


_SIDES = ("train", "validation", "holdout")  # the split's sides (mlops.stages.split)


def _target_only(path: Path, contract: Contract):
    """The target column of a split table, as the stages read it: at a million rows, parsing
    the other columns cost seconds the card does not need."""
    import pandas as pd

    from mlops.formats.schema import coerce

    return coerce(pd.read_csv(path, usecols=[contract.target]), contract)


def _rows(root: Path) -> dict[str, int]:
    """Rows in the table and on each side, from the split's row identities (one line per row
    of the table, in order, with its side): the tables themselves need not be parsed."""
    import pandas as pd

    side = pd.read_csv(root / paths.ROW_IDS, usecols=["side"])["side"]
    counts = side.value_counts()
    return {"data": len(side)} | {s: int(counts.get(s, 0)) for s in _SIDES}


def _positive_rate(train, contract: Contract) -> float | None:
    if contract.task != "binary":
        return None
    return round(float((train[contract.target] == contract.positive).mean()), 4)


def from_metadata(metadata: dict[str, Any], root: str | Path | None = None) -> CardInputs:
    """Card inputs from a version's tag metadata (``registry.workspace_metadata`` format)."""
    rates, gaps = _env_policies(Path(root)) if root is not None else ({}, {})
    carried = metadata.get("contract")
    contract = (
        Contract.from_dict(carried, source="the version's tag")
        if carried
        else load_contract(root if root is not None else ".")
    )
    return CardInputs(
        baselines=metadata.get("baselines", {}),
        metrics=metadata.get("metrics", {}),
        slices=metadata.get("slices", {}),
        serving=metadata.get("serving", {}),
        params=metadata.get("params", {}),
        data_md5=metadata.get("data_md5", ""),
        model_sha256=metadata.get("sha256", ""),
        rates=rates,
        gaps_allowed=gaps,
        contract=contract,
    )


# ---------------------------------------------------------------------------------------------
# markdown sections (each a pure function of the inputs)


def _values(c) -> str:
    if c.numeric:
        low = "−∞" if c.low is None else f"{c.low:g}"
        high = "∞" if c.high is None else f"{c.high:g}"
        return f"{low} – {high}"
    shown = ", ".join(c.categories[:12]) + (" …" if len(c.categories) > 12 else "")
    return shown or "any"


def _target_line(c: Contract) -> str:
    if c.task == "binary":
        what = f"binary, positive class `{c.positive}`: its probability is the score"
    elif c.task == "multiclass":
        what = f"multiclass; classes {', '.join(f'`{k}`' for k in c.classes)}"
    else:
        what = "regression"
    segment = f"Segment for slices: `{c.segment}`." if c.segment else "No segment: no slices."
    return (
        f"\nTarget: `{c.target}` ({what}). {segment} Definition: `contract.yaml` (training and "
        "serving validate against it)."
    )


def _features(c: Contract) -> list[str]:
    lines = [
        "| column | type | valid values | nulls | feature | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for col in c.columns:
        lines.append(
            f"| `{col.name}` | {col.kind} | {_values(col)} | "
            f"{'allowed' if col.nullable else 'no'} | {'yes' if col.feature else 'no'} "
            f"| {col.description} |"
        )
    lines.append(_target_line(c))
    if c.personal:
        lines.append(
            f"\nPersonal data: {', '.join(f'`{n}`' for n in c.personal)} "
            "(`personal: true`) reach the prediction log only as a keyed hash "
            "(`sha256:<16 hex>`, key `$MLOPS_LOG_HASH_KEY`), never as values; rotated log "
            "files are deleted after `monitoring.log_retention_days`."
        )
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


def _retrain(model: str) -> list[str]:
    return [
        "1. Change `params.yaml`, `contract.yaml`, the data (`mlops data adopt FILE --target COL`, "
        "or `dvc add data` after replacing the table) or `src/`.",
        "2. `dvc repro` (runs only the stages whose inputs changed; this card is the last one), "
        "then `dvc push`.",
        "3. Open a pull request: CI reproduces the pipeline and posts the metric diff and gates.",
        f"4. Merging registers a new version (`{model}@vX.Y.Z`, with this card); "
        "`mlops promote staging vX.Y.Z` deploys it.",
    ]


def _assigned(c: Contract) -> str:
    ident = f"its `{c.id_column}`" if c.id_column else "its content"
    return f"each row's side fixed by a hash of {ident}, so it keeps it as the table grows"


def _data(inputs: CardInputs, c: Contract) -> list[str]:
    rows = inputs.rows
    data = [f"- `{c.data}`, pinned by `{paths.DATA_DVC}` (md5 `{inputs.data_md5}`)"]
    if rows:
        data.append(
            f"- {rows.get('data', '?')} rows: {rows.get('train', '?')} for training, "
            f"{rows.get('validation', '?')} for choosing the threshold, "
            f"{rows.get('holdout', '?')} holdout ({_assigned(c)})"
        )
    if inputs.positive_rate is not None:
        data.append(f"- Share of `{c.positive}` in the training split: {inputs.positive_rate}")
    return data


def _purpose(c: Contract) -> str:
    classes = ", ".join(f"`{k}`" for k in c.classes)
    return c.description or PURPOSE[c.task].format(
        target=c.target, positive=c.positive, classes=classes
    )


def render_inputs(
    inputs: CardInputs,
    *,
    version: str | None = None,
    commit: str | None = None,
    model: str | None = None,
) -> str:
    """The card as markdown. The same inputs always give the same bytes."""
    c = inputs.contract or load_contract()
    model = model or c.model
    title = f"{model} {version}" if version else f"{model} (workspace build)"
    data = _data(inputs, c)
    parts = [
        f"# Model card: {title}",
        "",
        "_Generated by the `card` stage of `dvc.yaml` (`src/mlops/model/card.py`); do not edit by "
        "hand — change the inputs and run `dvc repro`._",
        "",
        "## Purpose",
        "",
        _purpose(c),
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Limits",
        "",
        LIMITS_COMMON + LIMITS[c.task],
        "",
        "## Training data",
        "",
        *data,
        "",
        "## Features",
        "",
        *_features(c),
        "",
        "## Metrics",
        "",
        *metrics_section(inputs, c.task == "binary"),
        "",
        "## Calibration",
        "",
        *calibration_section(inputs, c.task),
        "",
        "## Slices",
        "",
        *slices_section(inputs),
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
        *_retrain(model),
    ]
    return "\n".join(parts) + "\n"


def render(
    root: str | Path = ".",
    *,
    version: str | None = None,
    commit: str | None = None,
    metadata: dict[str, Any] | None = None,
    model: str | None = None,
) -> str:
    """The model card for the workspace (default) or for a version's tag ``metadata``.

    ``mlops register`` calls ``render(root, version="v1.3.0", commit=sha)`` (or with
    ``metadata=`` the tag's JSON) and stores the text with the version.
    """
    inputs = from_metadata(metadata, root) if metadata is not None else from_workspace(root)
    if metadata is not None and commit is None:
        commit = metadata.get("commit")
    return render_inputs(inputs, version=version, commit=commit, model=model)
