"""Drift of the change's data against the base's data, with Evidently's data-drift preset.

The column kinds come from ``mlops.data.schema`` (an explicit ``DataDefinition``), so a string
column is never mistaken for free text. Evidently picks each column's test from the reference
size (K-S / chi-square up to 1,000 rows, Wasserstein / Jensen-Shannon above).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from mlops.data.schema import CATEGORICAL, NUMERIC

_NAME = re.compile(r"ValueDrift\(column=(?P<column>[^,]+),method=(?P<method>.+),threshold=")


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    method: str
    score: float
    threshold: float

    @property
    def p_value(self) -> bool:
        return "p_value" in self.method

    @property
    def drifted(self) -> bool:
        # p-value tests drift when the p-value falls below the threshold; distances above it.
        return self.score < self.threshold if self.p_value else self.score >= self.threshold

    @property
    def strength(self) -> float:
        """Comparable across tests: how far past (or short of) its threshold the column is."""
        if self.p_value:
            return 1 - self.score
        return self.score / self.threshold if self.threshold else self.score


@dataclass(frozen=True)
class DriftResult:
    drift_share: float  # the share of columns above which the dataset counts as drifted
    columns: list[ColumnDrift] = field(default_factory=list)

    @property
    def drifted(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted]

    @property
    def share(self) -> float:
        return len(self.drifted) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return self.share >= self.drift_share

    def top(self, n: int = 5) -> list[ColumnDrift]:
        return sorted(self.columns, key=lambda c: (not c.drifted, -c.strength))[:n]


def measure(current: pd.DataFrame, reference: pd.DataFrame, drift_share: float) -> DriftResult:
    """Evidently's per-column drift of ``current`` against ``reference`` (current first)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c in NUMERIC if c in current and c in reference]
    categorical = [c for c in CATEGORICAL if c in current and c in reference]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    columns = numeric + categorical
    snapshot = Report([DataDriftPreset(columns=columns, drift_share=drift_share)]).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    return DriftResult(drift_share, _columns(snapshot.dict()))


def _columns(snapshot: dict) -> list[ColumnDrift]:
    out = []
    for metric in snapshot.get("metrics", []):
        match = _NAME.match(metric.get("metric_name", ""))
        if not match:
            continue
        config = metric.get("config", {})
        out.append(
            ColumnDrift(
                match["column"],
                config.get("method", match["method"]),
                round(float(metric["value"]), 6),
                float(config["threshold"]),
            )
        )
    return out
