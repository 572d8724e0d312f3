"""The contract.yaml reference: every key `mlops.formats.contract` accepts."""

from __future__ import annotations

import ast
import inspect

import yaml
from page import HEADER, ROOT, code, table

CONTRACT_MEANING = {
    "model": "the registry name: tags are `<model>@vX.Y.Z`; the key in models.yaml; the card's "
    "title",
    "task": "one of {tasks}",
    "data": "the table under data/ (CSV or Parquet), pinned by data.dvc",
    "description": "optional: the model card's purpose",
    "target": "the column to predict",
    "target.name": "the target column's name",
    "target.classes": "classification: every label",
    "target.positive": "binary: the class whose probability is the score",
    "segment": "optional: a category column; metrics are sliced by it",
    "id": "optional: a column naming each row for good; the split keeps a row on one side by a "
    "hash of it (else of the row's content)",
    "columns": "every column but the target, in file order: `<column>: {{kind: ...}}`",
    "columns.<column>.kind": "one of {kinds}",
    "columns.<column>.min": "numeric: inclusive lower bound",
    "columns.<column>.max": "numeric: inclusive upper bound",
    "columns.<column>.categories": "category: the allowed values",
    "columns.<column>.nullable": "`true` allows nulls, up to `max_null_share`",
    "columns.<column>.max_null_share": "default: params.yaml `validate.max_null_share`",
    "columns.<column>.feature": "`false` keeps the column in the table (validated) but out of "
    "the model, and the server accepts it without scoring it",
    "columns.<column>.description": "for the model card",
    "columns.<column>.personal": "`true`: the prediction log keeps only a keyed hash of the "
    "value (`MLOPS_LOG_HASH_KEY`), or nothing without the key",
    "columns.<column>.ordered": "category: `categories` is an order; trained as the position "
    "(ordinal encoding, not one-hot)",
}


def contract_keys() -> list[str]:
    """Every key ``mlops.formats.contract`` accepts (its parser's lists of known keys)."""
    from mlops.formats import contract_parse

    keys = []
    for key in contract_parse.TOP_KEYS:
        keys.append(key)
        if key == "target":
            keys += [f"target.{k}" for k in _target_keys()]
    keys += [f"columns.<column>.{k}" for k in contract_parse.COLUMN_KEYS]
    return keys


def _target_keys() -> tuple[str, ...]:
    """The keys ``contract_parse.target_of`` accepts: the tuple it passes to ``unknown``."""
    from mlops.formats import contract_parse

    for node in ast.walk(ast.parse(inspect.getsource(contract_parse.target_of))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "unknown":
            return ast.literal_eval(node.args[1])
    raise SystemExit("docs/gen/reference.py: cannot find the keys of contract.yaml `target`")


def contract_page() -> str:
    from mlops.formats import contract

    fill = {"tasks": ", ".join(contract.TASKS), "kinds": ", ".join(contract.KINDS)}
    rows = []
    for key in contract_keys():
        if key not in CONTRACT_MEANING:
            raise SystemExit(f"docs/gen/reference.py: no description for contract.yaml {key}")
        rows.append([code(key), CONTRACT_MEANING[key].format(**fill)])
    return (
        HEADER.format(source="src/mlops/formats/contract.py")
        + "# contract.yaml\n\n"
        + "The data contract: the one definition of the table. Every stage and command reads it "
        "through `mlops.formats.contract` (validation, split, training, slices, the server's "
        "request checks, drift, the model card). `mlops data adopt` writes it from your table; "
        "review and tighten it by hand. A malformed file is refused naming the file, the key and "
        "the value; a key not listed here is refused as unknown. A trained model carries the "
        "contract it was trained with.\n\n"
        + table(["key", "meaning"], rows)
        + "\nThe template's `contract.yaml` (comments left out):\n\n"
        + "```yaml\n"
        + yaml.safe_dump(
            yaml.safe_load((ROOT / "contract.yaml").read_text()), sort_keys=False, width=100
        ).rstrip()
        + "\n```\n"
    )
