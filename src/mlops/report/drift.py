"""Drift of the change's data against the base's data, with Evidently's data-drift preset.

The column kinds come from the contract (an explicit ``DataDefinition``), so a string column is
never mistaken for free text. Evidently picks each column's test from the reference
size (K-S / chi-square up to 1,000 rows, Wasserstein / Jensen-Shannon above).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mlops.formats.contract import Contract
from mlops.monitoring.evidently_drift import ColumnDrift, column_results, feature_report, kinds


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


def measure(
    current: pd.DataFrame, reference: pd.DataFrame, drift_share: float, contract: Contract
) -> DriftResult:
    """Evidently's per-column drift of ``current`` against ``reference``."""
    snapshot = feature_report(current, reference, drift_share, contract)
    return DriftResult(drift_share, column_results(snapshot.dict(), kinds(contract)))
