"""split: a deterministic, stratified, seeded train/holdout split."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from mlops import params, paths
from mlops.contract import Contract, load_contract
from mlops.data.schema import write_table


def strata(df: pd.DataFrame, contract: Contract) -> pd.Series | None:
    """Target class (classification) and segment together, so every segment keeps its class
    mix; a combination too rare to split (fewer than 2 rows) falls back to its class alone."""
    parts = []
    if contract.classification:
        parts.append(df[contract.target].astype(str))
    if contract.segment:
        parts.append(df[contract.segment].astype(str))
    if not parts:
        return None
    combined = parts[0] if len(parts) == 1 else parts[0] + "|" + parts[1]
    if len(parts) == 2:
        rare = combined.map(combined.value_counts()) < 2
        combined = combined.where(~rare, parts[0])
    return combined if combined.value_counts().min() >= 2 else None


def split(
    df: pd.DataFrame, settings: dict[str, Any], contract: Contract
) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, holdout = train_test_split(
        df,
        test_size=settings["holdout_size"],
        random_state=settings["seed"],
        stratify=strata(df, contract),
    )
    return train.sort_index(), holdout.sort_index()


def main() -> int:
    contract = load_contract()
    train, holdout = split(contract.read_table(contract.data), params.section("split"), contract)
    write_table(train, paths.TRAIN)
    write_table(holdout, paths.HOLDOUT)
    print(f"split: {len(train)} train rows, {len(holdout)} holdout rows")
    return 0


if __name__ == "__main__":
    from mlops.cli_support import run_stage

    run_stage(main)
