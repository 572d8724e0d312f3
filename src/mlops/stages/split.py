"""split: a deterministic, stratified, seeded train/holdout split."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from mlops import params, paths
from mlops.data.schema import SEGMENT, TARGET, read_table, write_table


def split(df: pd.DataFrame, settings: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratify on target and segment together, so every region keeps its churn rate."""
    strata = df[TARGET].astype(str) + "|" + df[SEGMENT].astype(str)
    train, holdout = train_test_split(
        df,
        test_size=settings["holdout_size"],
        random_state=settings["seed"],
        stratify=strata,
    )
    return train.sort_index(), holdout.sort_index()


def main() -> int:
    train, holdout = split(read_table(paths.DATA), params.section("split"))
    write_table(train, paths.TRAIN)
    write_table(holdout, paths.HOLDOUT)
    print(f"split: {len(train)} train rows, {len(holdout)} holdout rows")
    return 0


if __name__ == "__main__":
    from mlops.cli_support import run_stage

    run_stage(main)
