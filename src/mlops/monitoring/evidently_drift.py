"""Evidently 0.7, wrapped once: the PR report (base data vs change) and `mlops drift` (logged
traffic vs training data) both measure drift here.

The column kinds come from the contract (an explicit ``DataDefinition``), so a string column is
never mistaken for free text. Evidently picks each column's test from the reference
size (K-S / chi-square up to 1,000 rows, Wasserstein / Jensen-Shannon above). Current comes
first in ``Report.run`` — the trap FACTS.md warns about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops.formats.contract import Contract


def kinds(contract: Contract) -> dict[str, str]:
    """Feature name -> "numeric" | "categorical", as the contract declares it."""
    return {c.name: "numeric" if c.numeric else "categorical" for c in contract.columns}


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # numeric | categorical | score
    test: str
    score: float
    threshold: float
    drifted: bool

    @property
    def strength(self) -> float:
        """Comparable across tests: how far past (or short of) its threshold the column is."""
        if "p_value" in self.test:
            return 1 - self.score
        return self.score / self.threshold if self.threshold else self.score


def drifted(test: str, score: float, threshold: float) -> bool:
    """Evidently's rule: p-value tests drift below the threshold, distances at or above it."""
    return score < threshold if "p_value" in test else score >= threshold


def column_results(snapshot: dict, kinds: dict[str, str]) -> list[ColumnDrift]:
    """Per-column results from a snapshot's ``dict()``; ``kinds`` names each column's kind."""
    out = []
    for metric in snapshot.get("metrics", []):
        config = metric.get("config", {})
        if not config.get("type", "").endswith("ValueDrift"):
            continue
        column, test = config["column"], config["method"]
        score, threshold = float(metric["value"]), float(config["threshold"])
        out.append(
            ColumnDrift(
                column,
                kinds.get(column, "numeric"),
                test,
                round(score, 6),
                threshold,
                drifted(test, score, threshold),
            )
        )
    return out


def _definition(numeric: list[str], categorical: list[str]):
    from evidently import DataDefinition

    return DataDefinition(numerical_columns=numeric, categorical_columns=categorical)


def feature_report(
    current: pd.DataFrame, reference: pd.DataFrame, drift_share: float, contract: Contract
):
    """Evidently's data drift preset over the contract's features present in both frames."""
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c in contract.numeric if c in current and c in reference]
    categorical = [c for c in contract.categorical if c in current and c in reference]
    definition = _definition(numeric, categorical)
    columns = numeric + categorical
    report = Report([DataDriftPreset(columns=columns, drift_share=drift_share)])
    return report.run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )


def score_report(
    current: np.ndarray, reference: np.ndarray, column: str, categorical: bool = False
):
    """Evidently's value drift on one series: the predicted probability or value (numeric), or
    the predicted class (categorical: class shares)."""
    from evidently import Dataset, Report
    from evidently.metrics import ValueDrift

    definition = _definition([], [column]) if categorical else _definition([column], [])
    return Report([ValueDrift(column=column)]).run(
        Dataset.from_pandas(pd.DataFrame({column: current}), data_definition=definition),
        Dataset.from_pandas(pd.DataFrame({column: reference}), data_definition=definition),
    )
