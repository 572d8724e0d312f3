"""`mlops data adopt FILE --target COL`: make the template's data, contract and gates a table's.

Everything is checked before anything is written (a refusal leaves the workspace as it was).
Then: the table goes to ``data/`` in place of the previous one (same file name and format), the
inferred contract to ``contract.yaml``, task defaults to the ``gates:`` of environments/*.yaml,
the model name to models.yaml, ``validate.min_rows`` / ``max_duplicate_share`` in params.yaml
are relaxed when the table itself would fail them, and ``dvc add data`` pins it. Running it
again on the same file changes nothing.

`mlops data sample` does the same with the bundled churn sample and its hand-written contract.
"""

from __future__ import annotations

import csv
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from mlops.core import paths, tools
from mlops.data import gate_defaults, sample
from mlops.data.infer import AdoptError, Inferred, infer_contract, model_name
from mlops.formats import environments, params
from mlops.formats.contract import CONTRACT_FILE, Contract, dump
from mlops.formats.schema import TableError, coerce, read_raw, write_table
from mlops.stages import validate

HEADER = """\
# contract.yaml: the one definition of the table, written by `mlops data adopt` from {source}.
# Every stage and command reads it through src/mlops/formats/contract.py. Review it, tighten ranges
# and categories to what valid data may hold, add descriptions, then commit it (format:
# docs/adopting-data.md, "The contract").
"""


@dataclass
class Adoption:
    contract: Contract
    notes: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # files written (empty: nothing changed)


# ---------------------------------------------------------------------------- reading


def _header_names(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise AdoptError(f"{path}: not a readable Parquet file ({exc})") from exc
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh), [])
    except UnicodeDecodeError as exc:
        raise AdoptError(f"{path}: not UTF-8 text; save it as UTF-8 CSV or Parquet") from exc


def check_names(path: Path) -> None:
    names = _header_names(path)
    if not names:
        raise AdoptError(f"{path}: empty file (no header)")
    empty = [i + 1 for i, n in enumerate(names) if not str(n).strip()]
    if empty:
        raise AdoptError(f"{path}: column {empty[0]} has an empty name; name every column")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise AdoptError(f"{path}: column name {n!r} appears twice; names must be unique")
        seen.add(n)


def read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise AdoptError(f"{path}: no such file")
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise AdoptError(f"{path}: not a .csv or .parquet file")
    check_names(path)
    try:
        return read_raw(path)
    except TableError as exc:
        raise AdoptError(str(exc)) from exc


# ---------------------------------------------------------------------------- writing


def _write(root: Path, rel: str, text: str, changed: list[str]) -> None:
    path = root / rel
    if path.is_file() and path.read_text() == text:
        return
    path.write_text(text)
    changed.append(rel)


def _place_table(root: Path, source: Path, data: str, changed: list[str]) -> None:
    """Put ``source`` at ``data`` and remove every other file under data/."""
    dest = root / data
    folder = root / paths.DATA_DIR
    folder.mkdir(exist_ok=True)
    for other in sorted(p for p in folder.rglob("*") if p.is_file() and p != dest):
        other.unlink()
        changed.append(f"removed {other.relative_to(root).as_posix()}")
    if dest.is_file() and dest.read_bytes() == source.read_bytes():
        return
    if source.resolve() != dest.resolve():
        shutil.copyfile(source, dest)
    changed.append(data)


def _env_gates(
    root: Path, contract: Contract, stats: dict, changed: list[str], given: dict | None = None
) -> None:
    for name in environments.names(root):
        rel = f"{paths.ENVIRONMENTS}/{name}.yaml"
        text = (root / rel).read_text()
        kept = (yaml.safe_load(text) or {}).get("gates") or {}
        gates = None if given is None else given.get(name)
        _write(root, rel, gate_defaults.apply(text, contract, name, stats, kept, gates), changed)


def _models_file(root: Path, model: str, changed: list[str], notes: list[str]) -> None:
    """Declare ``model`` in models.yaml; deployments of another model cannot serve it."""
    path = root / paths.MODELS_FILE
    text = path.read_text() if path.is_file() else ""
    declared = list((yaml.safe_load(text) or {}).get("models") or {})
    if declared == [model]:
        return
    if declared:
        notes.append(f"models.yaml: {', '.join(declared)} replaced by {model} (nothing deployed)")
    head = text.split("\nmodels:", 1)[0] if "\nmodels:" in text else text.rstrip("\n")
    body = (
        "\nmodels:\n  # The model is declared; no environment is deployed yet. `mlops promote` "
        f"adds them here.\n  {model}: {{}}\n"
    )
    _write(root, paths.MODELS_FILE, head + body, changed)


def relaxed(settings: dict, df: pd.DataFrame, notes: list[str]) -> dict:
    """``settings`` (params.yaml ``validate``) with ``min_rows`` lowered / ``max_duplicate_share``
    raised where the table itself would fail them."""
    out = dict(settings)
    if len(df) < settings["min_rows"]:
        out["min_rows"] = len(df)
        notes.append(f"params.yaml validate.min_rows: {settings['min_rows']} -> {len(df)}")
    dup = float(df.duplicated().mean())
    if dup > settings["max_duplicate_share"]:
        out["max_duplicate_share"] = math.ceil((dup + 0.01) * 100) / 100
        notes.append(
            f"params.yaml validate.max_duplicate_share: {settings['max_duplicate_share']} -> "
            f"{out['max_duplicate_share']} (the table has {dup:.1%} duplicate rows)"
        )
    return out


def _set_param(text: str, key: str, value) -> str:
    import re

    pattern = re.compile(rf"^(\s+{key}:\s*)([^\s#]+)", re.MULTILINE)
    return pattern.sub(lambda m: f"{m.group(1)}{value}", text, count=1)


def _reset_params(root: Path, values: dict, changed: list[str]) -> None:
    text = (root / params.PARAMS_FILE).read_text()
    for key, value in values.items():
        text = _set_param(text, key, value)
    _write(root, params.PARAMS_FILE, text, changed)


def check_table(source: Path, text: str, settings: dict, df: pd.DataFrame | None = None) -> None:
    """Run the validate stage's checks on the file about to be placed, read as that stage will
    read it, with the contract text and validate settings about to be written; refuse (nothing
    written) when they fail: `dvc repro` would stop there."""
    contract = Contract.from_dict(yaml.safe_load(text), source=CONTRACT_FILE)
    table = coerce(read_raw(source) if df is None else df, contract)
    report = validate.validate(table, settings, contract)
    if not report["valid"]:
        raise AdoptError(
            f"{source.name} would not pass the validate stage with the contract adopt inferred "
            f"(nothing was written):\n{validate.describe(report)}\nadjust the table, or report "
            "this: adopt should infer a contract its own table passes"
        )


def install(
    root: Path,
    source: Path,
    contract: Contract,
    df: pd.DataFrame,
    text: str,
    notes: list[str],
    gates: dict | None = None,
    settings: dict | None = None,
    check: bool = True,
) -> list[str]:
    """Check the table against the validate stage (unless ``check`` is off), then write it, the
    contract, gates, models.yaml and params (``settings`` for ``validate`` when given, else the
    current ones relaxed only where the table fails them); ``dvc add`` the data."""
    current = params.section("validate", root / params.PARAMS_FILE)
    chosen = relaxed(current, df, notes) if settings is None else current | settings
    if check:
        check_table(source, text, chosen, df)
    changed: list[str] = []
    _reset_params(root, {k: chosen[k] for k in ("min_rows", "max_duplicate_share")}, changed)
    _place_table(root, source, contract.data, changed)
    _write(root, CONTRACT_FILE, text, changed)
    stats = gate_defaults.stats(coerce(df, contract), contract)
    _env_gates(root, contract, stats, changed, gates)
    _models_file(root, contract.model, changed, notes)
    if changed or not (root / paths.DATA_DVC).is_file():
        tools.dvc("add", paths.DATA_DIR, cwd=root)
    return changed


def labelled_only(df: pd.DataFrame, target: str, source: Path, tmp: Path, notes: list[str]):
    """(table, file to place): rows without a target value cannot train or be scored, so they
    are left out of the adopted copy (the file given stays as it is)."""
    if target not in df or not df[target].isna().any():
        return df, source
    missing = int(df[target].isna().sum())
    df = df[df[target].notna()].reset_index(drop=True)
    if df.empty:
        raise AdoptError(f"target {target!r}: no row has a value; there is nothing to learn")
    out = tmp / source.name
    if source.suffix == ".parquet":
        df.to_parquet(out, index=False)
    else:
        write_table(df, out)
    df = read_raw(out)  # as every later step reads it (a column may lose its only nulls)
    notes.append(
        f"target {target!r}: {missing} row(s) without a value left out of {paths.DATA_DIR}/"
        f"{source.name} ({len(df)} kept); {source} itself is unchanged"
    )
    return df, out


# ------------------------------------------------------------------------------ API


def adopt(
    file: str | Path,
    target: str,
    *,
    root: str | Path = ".",
    task: str = "auto",
    segment: str | None = None,
    name: str | None = None,
    positive: str | None = None,
) -> Adoption:
    """Adopt the table ``file`` as the workspace's data (see the module docstring)."""
    import tempfile

    root, source = Path(root), Path(file)
    df = read(source)
    if df.empty:
        raise AdoptError(f"{source}: the table has no rows")
    with tempfile.TemporaryDirectory() as tmp:
        notes: list[str] = []
        df, placed = labelled_only(df, target, source, Path(tmp), notes)
        done = _adopt(root, source, placed, df, target, task, segment, name, positive)
    done.notes[:0] = notes
    return done


def _adopt(root, source, placed, df, target, task, segment, name, positive) -> Adoption:
    holdout = params.section("split", root / params.PARAMS_FILE)["holdout_size"]
    inferred: Inferred = infer_contract(
        df,
        target=target,
        data=f"{paths.DATA_DIR}/{source.name}",
        name=name or model_name(source.stem),
        task=task,
        segment=segment,
        positive=positive,
        holdout_size=holdout,
    )
    contract = inferred.contract
    text = dump(contract, HEADER.format(source=source.name))
    changed = install(root, placed, contract, df, text, inferred.notes)
    inferred.notes.append("gates: " + gate_defaults.explain(contract))
    return Adoption(contract, inferred.notes, inferred.review, changed)


def adopt_sample(
    root: str | Path = ".", rows: int | None = None, seed: int | None = None
) -> Adoption:
    """Put the bundled churn sample back: its table, its hand-written contract, binary gates."""
    import tempfile

    root = Path(root)
    settings = params.section("sample", root / params.PARAMS_FILE)
    contract = sample.contract()
    rows = rows or settings["rows"]
    notes: list[str] = []
    # fewer rows than the sample's validate settings accept: written as asked (a placeholder a
    # test or a user replaces with its own table), and said so
    enough = rows >= sample.VALIDATE["min_rows"]
    if not enough:
        notes.append(
            f"{rows} rows is below params.yaml validate.min_rows ({sample.VALIDATE['min_rows']}): "
            "the validate stage will refuse this table until you replace it or lower min_rows"
        )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / Path(contract.data).name
        sample.write(source, rows, settings["seed"] if seed is None else seed)
        df = read_raw(source)
        text = sample.contract_text()
        changed = install(root, source, contract, df, text, notes, sample.GATES, sample.VALIDATE,
                          check=enough)  # fmt: skip
    return Adoption(contract, notes, [], changed)


def describe(done: Adoption) -> str:
    """What adopt decided, what it wrote, and what to review before committing."""
    c = done.contract
    features = ", ".join(c.features)
    lines = [
        f"adopted {c.data}: model {c.model}, task {c.task}, target {c.target}"
        + (f", segment {c.segment}" if c.segment else ", no segment"),
        f"features ({len(c.features)}): {features}",
        *(f"  - {note}" for note in done.notes),
    ]
    if done.changed:
        lines.append("wrote: " + ", ".join(done.changed) + f", {paths.DATA_DVC} (dvc add)")
    else:
        lines.append("nothing changed: the workspace already holds this table and contract")
    if done.review:
        lines += ["review before committing:", *(f"  - {r}" for r in done.review)]
    lines += [
        "then: dvc repro && dvc push && git add -A && git commit -m 'adopt "
        + Path(c.data).name
        + "' and open a pull request",
        "  (CI and every other clone `dvc pull` the table from the DVC remote; the default one,"
        " .dvc-storage/, is a folder in this clone: point it at shared storage first, e.g."
        " `dvc remote modify storage url s3://bucket/dvc`; docs/adopting-data.md,"
        ' "Data and the DVC remote")',
    ]
    return "\n".join(lines)
