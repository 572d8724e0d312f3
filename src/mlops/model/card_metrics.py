"""The model card's metric sections: every metric beside its baselines, the decision threshold
with precision and recall at it, and calibration (Brier score, ECE, the reliability plot)."""

from __future__ import annotations

from typing import Any

from mlops.core import paths
from mlops.formats.params import AUTO

CALIBRATION = ("brier", "ece", "log_loss")


def fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def metric_table(metrics: dict[str, Any], baselines: dict[str, Any]) -> list[str]:
    """| metric | model | trivial baseline | linear baseline | for every metric."""
    trivial, linear = baselines.get("trivial", {}), baselines.get("linear", {})
    lines = [
        "| metric | model | trivial baseline | linear baseline |",
        "|---|---:|---:|---:|",
    ]
    for name, value in sorted(metrics.items()):
        if name == "threshold":
            continue
        cells = [fmt(value), fmt(trivial.get(name, "–")), fmt(linear.get(name, "–"))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def threshold_line(metrics: dict[str, Any], params: dict[str, Any], rows: dict) -> str:
    """Binary: the threshold, how it was chosen, and precision and recall at it."""
    rule = params.get("evaluate", {}).get("threshold")
    value = metrics.get("threshold", rule)
    how = (
        f"chosen to maximise F1 on {rows.get('validation', 'the')} validation rows the holdout "
        "never sees (`evaluate.threshold: auto`)"
        if rule == AUTO
        else "set in `params.yaml` (`evaluate.threshold`)"
    )
    return (
        f"Decision threshold **{fmt(value)}**, {how}: at it, precision "
        f"{fmt(metrics.get('precision', '?'))} and recall {fmt(metrics.get('recall', '?'))}."
    )


def metrics_section(inputs, binary: bool) -> list[str]:
    rows = inputs.rows
    lines = [
        f"Holdout ({rows.get('holdout', '?')} rows never trained on), beside two baselines on "
        "the same rows: *trivial* answers the majority class with the training prior "
        "(regression: the training mean); *linear* is `train.linear` on the same features.",
        "",
    ]
    if binary:
        lines += [threshold_line(inputs.metrics, inputs.params, rows), ""]
    lines += metric_table(inputs.metrics, inputs.baselines)
    if not inputs.baselines:
        lines += ["", f"No baselines recorded (`{paths.BASELINES}`): run `dvc repro`."]
    return lines + traffic_lines(inputs.baselines.get("traffic"))


def traffic_lines(traffic: dict[str, Any] | None) -> list[str]:
    """The holdout rows that came from labelled live traffic (`mlops data refresh`): the
    population this version will serve, scored apart; its default live bar comes from here."""
    if not traffic:
        return []
    judged = (
        f"too few to judge ({traffic['too_small']}): the live bar comes from the whole holdout"
        if traffic.get("too_small")
        else "the default live bar (`mlops performance`) is derived from these figures"
    )
    lines = [
        "",
        f"Of these, {traffic['rows']} rows came from labelled live traffic (`mlops data "
        f"refresh`), the population this version serves; {judged}:",
        "",
        "| metric | model | trivial baseline |",
        "|---|---:|---:|",
    ]
    trivial = traffic.get("trivial", {})
    for name, value in sorted(traffic.get("model", {}).items()):
        lines.append(f"| {name} | {fmt(value)} | {fmt(trivial.get(name, '–'))} |")
    return lines


def calibration_section(inputs, task: str) -> list[str]:
    if task == "regression":
        return ["Not applicable: the model predicts values, not probabilities."]
    m, trivial = inputs.metrics, inputs.baselines.get("trivial", {})
    shown = [k for k in CALIBRATION if k in m]
    if not shown:
        return ["No calibration measured for this version."]
    score = "the positive class's probability" if task == "binary" else "the top class's"
    lines = [
        "Scores are not recalibrated after training; their calibration is measured on the "
        f"holdout ({score}): the Brier score, the expected calibration error (ECE, 10 bins) and "
        "the log loss, lower is better:",
        "",
        "| measure | model | trivial baseline |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {fmt(m[k])} | {fmt(trivial.get(k, '–'))} |" for k in shown]
    lines += ["", "![reliability](figures/reliability.png)"]
    return lines
