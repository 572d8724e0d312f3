"""validate: check the raw table against the contract (contract.yaml) before anything trains."""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
import pandera.errors

from mlops.core import paths
from mlops.core.io_utils import write_json
from mlops.formats import params
from mlops.formats.contract import Contract, load_contract

MAX_EXAMPLES = 5


def _examples(values: list) -> list:
    """A few distinct failing values; booleans (a whole-column check) and follow-on type errors
    of a column whose dtype already failed say nothing, so they are dropped."""
    out: list = []
    for v in values:
        if v is None or isinstance(v, bool) or str(v).startswith("TypeError("):
            continue
        v = v if isinstance(v, (int, float, str)) else str(v)
        if v not in out:
            out.append(v)
    return out[:MAX_EXAMPLES]


def _failures(errors: pandera.errors.SchemaErrors) -> list[dict[str, Any]]:
    cases = errors.failure_cases
    out = []
    for (column, check), group in cases.groupby(
        [cases["column"].fillna("<table>"), cases["check"].astype(str)], sort=True
    ):
        values = group["failure_case"].tolist()
        if all(str(v).startswith("TypeError(") for v in values):
            continue  # the dtype failure of this column is already reported
        out.append(
            {"column": column, "check": check, "failing": len(group), "examples": _examples(values)}
        )
    return out


def validate(df: pd.DataFrame, settings: dict[str, Any], contract: Contract) -> dict[str, Any]:
    """Validate ``df`` lazily; return a report listing every failing check (empty when valid)."""
    schema = contract.frame_schema(
        min_rows=settings["min_rows"],
        max_null_share=settings["max_null_share"],
        max_duplicate_share=settings["max_duplicate_share"],
    )
    try:
        schema.validate(df, lazy=True)
        failures: list[dict[str, Any]] = []
    except pandera.errors.SchemaErrors as errors:
        failures = _failures(errors)
    return {
        "valid": not failures,
        "rows": len(df),
        "columns": len(df.columns),
        "null_share": {c: round(float(df[c].isna().mean()), 6) for c in df.columns},
        "failures": failures,
    }


def describe(report: dict[str, Any]) -> str:
    """One line per failing check: column, check, how many rows, a few failing values."""
    lines = [f"data failed validation: {len(report['failures'])} check(s) failed"]
    for f in report["failures"]:
        examples = ", ".join(repr(v) for v in f["examples"])
        measured = report["null_share"].get(f["column"]) if "null" in f["check"] else None
        lines.append(
            f"  - column {f['column']!r}: check {f['check']} failed"
            + (f" for {f['failing']} value(s); e.g. {examples}" if examples else "")
            + (f" (measured null share {measured})" if measured is not None else "")
        )
    return "\n".join(lines)


def main(data_path: str | None = None, report_path: str = paths.VALIDATION) -> int:
    contract = load_contract()
    data_path = data_path or contract.data
    report = validate(contract.read_table(data_path), params.section("validate"), contract)
    write_json(report_path, report)
    if not report["valid"]:
        print(f"{data_path}: {describe(report)}", file=sys.stderr)
        print(f"full report: {report_path}", file=sys.stderr)
        return 1
    print(f"{data_path}: {report['rows']} rows passed validation")
    return 0


if __name__ == "__main__":
    from mlops.core.cli_support import run_stage

    run_stage(main)
