"""Ordered categories (``ordered: true`` in contract.yaml) as the model reads them: the
position in the contract's ``categories`` list, so "low" < "mid" < "high" keeps its meaning."""

from __future__ import annotations

from sklearn.preprocessing import OrdinalEncoder

from mlops.formats.contract import Contract

MISSING = -1.0  # a null sits below the first category


def transformers(contract: Contract) -> list[tuple[str, OrdinalEncoder, list[str]]]:
    """The ColumnTransformer entry for ``contract.ordinal`` in the contract's order (none when
    no column is ordered; a value outside the list cannot arrive: validation refuses it)."""
    if not contract.ordinal:
        return []
    orders = [list(contract.by_name[name].categories) for name in contract.ordinal]
    encoder = OrdinalEncoder(categories=orders, dtype="float64", encoded_missing_value=MISSING)
    return [("ordinal", encoder, list(contract.ordinal))]
