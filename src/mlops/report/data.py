"""The data section: which data each side trained on, and how the change's data differs.

Row counts, columns and null shares come from each side's Git-tracked ``reports/validation.json``
(no download). Dtypes and drift need the rows themselves: the change's from the workspace, the
base's from the DVC remote (``dvc.api.read`` at the base revision).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.core import paths
from mlops.report.sides import Side

if TYPE_CHECKING:  # pandas, pandera and Evidently load only when the data changed
    import pandas as pd

    from mlops.formats.contract import Contract
    from mlops.report.drift import DriftResult

NULL_SHARE_NOISE = 0.0005  # null-share moves smaller than this are not worth a line


@dataclass
class DataSection:
    base_md5: str | None
    new_md5: str | None
    base_rows: int | None = None
    new_rows: int | None = None
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    dtype_changes: list[tuple[str, str, str]] = field(default_factory=list)  # column, old, new
    null_changes: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    drift: DriftResult | None = None
    notes: list[str] = field(default_factory=list)  # what could not be measured, and why

    @property
    def changed(self) -> bool:
        return self.base_md5 != self.new_md5


def _validation(side: Side) -> dict:
    return side.get("validation") or {}


def _shape(section: DataSection, base: Side, new: Side) -> None:
    old, cur = _validation(base), _validation(new)
    section.base_rows, section.new_rows = old.get("rows"), cur.get("rows")
    old_nulls, new_nulls = old.get("null_share", {}), cur.get("null_share", {})
    if old_nulls and new_nulls:
        section.added_columns = sorted(set(new_nulls) - set(old_nulls))
        section.removed_columns = sorted(set(old_nulls) - set(new_nulls))
    for column in sorted(set(old_nulls) | set(new_nulls)):
        a, b = old_nulls.get(column), new_nulls.get(column)
        moved = a is None or b is None or abs(a - b) >= NULL_SHARE_NOISE
        if moved and a != b:
            section.null_changes.append((column, a, b))


def _base_contract(root: Path, base: Side) -> dict:
    """The base's contract.yaml as written ({} when it has none): its table may be another one,
    in another format."""
    import yaml

    from mlops.core import tools
    from mlops.formats.contract import CONTRACT_FILE

    proc = tools.run(["git", "show", f"{base.commit}:{CONTRACT_FILE}"], cwd=root, check=False)
    try:
        spec = yaml.safe_load(proc.stdout) if proc.returncode == 0 else None
    except yaml.YAMLError:
        spec = None
    return spec if isinstance(spec, dict) else {}


def _base_frame(
    root: Path, base: Side, rev: str, contract: Contract, data: str
) -> tuple[pd.DataFrame | None, str]:
    import tempfile

    import dvc.api

    try:  # bytes: a Parquet table is not text
        raw = dvc.api.read(data, repo=str(root), rev=base.commit, mode="rb")
    except Exception as exc:  # DVC raises many types; all mean "not available"
        return None, (
            f"base data ({data} at {rev}, md5 {base.data_md5}) could not be read from the "
            f"DVC remote or cache ({type(exc).__name__}): drift not measured. Was `dvc push` run "
            "when the base was committed?"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(data).name
        path.write_bytes(raw)
        return contract.read_table(path), ""


def _dtypes(section: DataSection, old: pd.DataFrame, cur: pd.DataFrame) -> None:
    for column in sorted(set(old.columns) & set(cur.columns)):
        a, b = str(old[column].dtype), str(cur[column].dtype)
        if a != b:
            section.dtype_changes.append((column, a, b))


def collect(root: Path, base: Side, new: Side, rev: str, drift_share: float) -> DataSection:
    section = DataSection(base.data_md5, new.data_md5)
    _shape(section, base, new)
    if base.data_md5 is None:
        section.notes.append(f"`{paths.DATA_DVC}` does not exist at {rev}: no base data to compare")
        return section
    if not section.changed:
        section.notes.append("the data is unchanged (same md5): no drift to measure")
        return section
    from mlops.formats.contract import load_contract

    contract = load_contract(root)
    current_file = root / contract.data
    if not current_file.is_file():
        section.notes.append(
            f"`{contract.data}` is not in the workspace (run `dvc pull`): drift not measured"
        )
        return section
    spec = _base_contract(root, base)
    known = spec.get("columns")  # None: a base from before contract.yaml; read its rows as they are
    absent = [c.name for c in contract.columns if known is not None and c.name not in known]
    if absent:  # a newly adopted table: its columns have no past to drift from
        shown = ", ".join(map(repr, absent[:5])) + (" ..." if len(absent) > 5 else "")
        section.notes.append(
            f"the base's contract has no column {shown} (another table was adopted): "
            "drift not measured"
        )
        return section
    reference, why = _base_frame(root, base, rev, contract, spec.get("data", contract.data))
    if reference is None:
        section.notes.append(why)
        return section
    from mlops.report.drift import measure

    current = contract.read_table(current_file)
    _dtypes(section, reference, current)
    features = [c for c in current.columns if c != contract.target]
    section.drift = measure(current[features], reference, drift_share, contract)
    return section
