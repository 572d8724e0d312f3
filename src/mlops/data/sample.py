"""The bundled churn sample: its table (``generate``) and its contract (churn.contract.yaml).

A fresh clone's contract.yaml is this contract; `mlops data sample` puts both back after an
adoption, and the tests build their fixture repositories from it, whatever table the workspace
has adopted.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from mlops.data.generate import generate
from mlops.formats.contract import Contract
from mlops.formats.schema import write_table

# The bundled sample's gates per environment (other environments get the binary defaults).
GATES = {
    "staging": {
        "min": {"roc_auc": 0.78, "f1": 0.50},
        "max_regression": {"roc_auc": 0.02},
        "max_slice_gap": {"roc_auc": 0.10},
        "max_latency_ms_p95": 100,
        "max_model_mb": 50,
    },
    "production": {
        "min": {"roc_auc": 0.80, "f1": 0.55},
        "max_regression": {"roc_auc": 0.02},
        "max_slice_gap": {"roc_auc": 0.10},
        "max_latency_ms_p95": 50,
        "max_model_mb": 50,
    },
}
# The bundled sample's validate settings in params.yaml (adopt may have relaxed them).
VALIDATE = {"min_rows": 1000, "max_duplicate_share": 0.01}
# Two decimals, as the generator rounds: the regenerated file is byte-identical to the pinned one.
FLOAT_FORMAT = "%.2f"


def contract_text() -> str:
    return resources.files("mlops.data").joinpath("churn.contract.yaml").read_text()


@cache
def contract() -> Contract:
    import yaml

    return Contract.from_dict(yaml.safe_load(contract_text()), source="churn.contract.yaml")


def write(path: str | Path, rows: int, seed: int, drift: float = 0.0) -> None:
    """Write the sample table (the same arguments always give the same bytes)."""
    write_table(generate(rows, seed, drift), path, float_format=FLOAT_FORMAT)
