"""The current side of a drift comparison: the stable version's logged traffic (features and
predictions), read from the prediction log, checked against the version's contract and sampled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.core import durations
from mlops.core.errors import MlopsError
from mlops.formats import predlog
from mlops.formats.contract import Contract
from mlops.monitoring.drift_reference import (
    DEFAULT_MAX_ROWS,
    PREDICTION,
    SAMPLE_SEED,
    DriftInputError,
    _sample_contract,
)


class NothingToCompare(MlopsError):
    """Nothing is deployed to the environment, or it has logged no prediction yet: the state of
    a new repository, not a failure (exit 0, so a scheduled monitor is green from day one)."""

    exit_code = 0


def parse_duration(text: str, now: datetime | None = None) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` or an ISO time -> timedelta
    (``mlops.core.durations``)."""
    try:
        return durations.parse_duration(text, now)
    except durations.DurationError as exc:
        raise DriftInputError(str(exc)) from exc


@dataclass
class Current:
    """The logged traffic drift compares: features and predictions of the stable version."""

    features: pd.DataFrame
    scores: np.ndarray  # per task: the positive probability, the class, the value
    log_dir: str
    records: int  # every readable record in the env's logs
    matched: int  # records of the version (and inside --since)
    by_version: dict[str, int] = field(default_factory=dict)
    first_ts: str = ""
    last_ts: str = ""
    shadowed: bool = False  # some record carries a shadow's output (``drift_routes``)

    @property
    def sample_rate(self) -> float:
        return len(self.features) / self.matched if self.matched else 0.0


def _schema_error(where: str, problem: str, contract: Contract) -> DriftInputError:
    return DriftInputError(
        f"{where}: {problem}; the log does not match the contract of the version it names "
        f"({contract.source}: {', '.join(contract.features)}). Logs written under another "
        "contract cannot be compared with this version's reference: rotate them away or pass "
        "--log-dir with logs of this contract"
    )


def _usable(value: Any, task: str) -> bool:
    if task == "multiclass":
        return isinstance(value, (str, int)) and not isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _collect(log_dir: Path, env: str, version: str, cutoff: str | None, contract: Contract):
    """Scan the log once; keep features and prediction of matching records only."""
    field_name = PREDICTION[contract.task][0]
    features: list[dict] = []
    scores: list[float] = []
    stamps: list[str] = []
    by_version: dict[str, int] = {}
    records = in_version = 0
    shadowed = False
    where = str(predlog.env_dir(log_dir, env))
    for rec in predlog.read(log_dir, env):
        if not isinstance(rec, dict):
            raise _schema_error(where, f"record {records + 1} is not a JSON object", contract)
        records += 1
        shadowed = shadowed or "shadow" in rec
        rec_version = rec.get("model_version")
        by_version[str(rec_version)] = by_version.get(str(rec_version), 0) + 1
        if rec_version != version:
            continue
        in_version += 1
        ts = rec.get("ts", "")
        if cutoff is not None and not (isinstance(ts, str) and ts >= cutoff):
            continue
        feats, score = rec.get("features"), rec.get(field_name)
        if not isinstance(feats, dict) or not _usable(score, contract.task):
            missing = [k for k in predlog.FIELDS if k not in rec]
            raise _schema_error(
                where,
                f"record {records} has no `features` object or no usable `{field_name}` for a "
                f"{contract.task} model (got {score!r})"
                + (f" (missing: {', '.join(missing)})" if missing else ""),
                contract,
            )
        features.append(feats)
        scores.append(str(score) if contract.task == "multiclass" else float(score))
        stamps.append(ts)
    return features, scores, stamps, by_version, records, in_version, shadowed


def _frame(features: list[dict], where: str, contract: Contract) -> pd.DataFrame:
    """Records -> a frame with the contract's dtypes; a foreign one is an error, not NaNs."""
    frame = pd.DataFrame.from_records(features)
    extra = sorted(set(frame.columns) - set(contract.features) - set(contract.personal))
    missing = [c for c in contract.features if c not in frame.columns]
    if extra or missing:
        parts = ([f"unknown columns {extra}"] if extra else []) + (
            [f"missing columns {missing}"] if missing else []
        )
        raise _schema_error(where, "; ".join(parts), contract)
    frame = frame[list(contract.features)]
    for col in (c for c in contract.columns if c.feature):
        values = frame[col.name]
        if not col.nullable and values.isna().any():
            raise _schema_error(
                where,
                f"column {col.name!r} is missing or null in {int(values.isna().sum())} records",
                contract,
            )
        if col.numeric:
            numbers = pd.to_numeric(values, errors="coerce")
            bad = numbers.isna() & values.notna()
            if bad.any():
                raise _schema_error(
                    where,
                    f"column {col.name!r} holds non-numbers, e.g. {values[bad].iloc[0]!r}",
                    contract,
                )
            frame[col.name] = numbers.astype("float64")
        else:
            frame[col.name] = values.astype("str")
    return frame


def load_current(
    log_dir: str | Path,
    env: str,
    version: str,
    *,
    since: timedelta | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    now: datetime | None = None,
    contract: Contract | None = None,
) -> Current:
    """The stable version's logged rows (inside ``since``), sampled to ``max_rows`` at most;
    ``contract``: the version's (default: the bundled sample's)."""
    contract = contract or _sample_contract()
    log_dir = Path(log_dir)
    where = str(predlog.env_dir(log_dir, env))
    cutoff = None
    if since is not None:
        cutoff = (
            ((now or datetime.now(UTC)) - since).astimezone(UTC).isoformat(timespec="milliseconds")
        )
    features, scores, stamps, by_version, records, in_version, shadowed = _collect(
        log_dir, env, version, cutoff, contract
    )
    if records == 0:
        found = ", ".join(p.name for p in predlog.files(log_dir, env)) or "no predictions*.jsonl"
        raise NothingToCompare(
            f"{where}: the prediction log is empty ({found}); nothing to compare yet. Is the "
            f"server running with --log-dir {log_dir} and receiving traffic? (`--log-dir` picks "
            "another)"
        )
    seen = ", ".join(f"{v}: {n}" for v, n in sorted(by_version.items()))
    if in_version == 0:
        raise DriftInputError(
            f"{where}: {records} records, none from {env}'s stable version {version} "
            f"(records per version: {seen}); was models.yaml changed without a deploy?"
        )
    if not features:
        raise DriftInputError(
            f"--since {since}: matches none of the {in_version} records of {version} in {where} "
            f"(cut-off {cutoff}, newest record at {max(_stamps_of(log_dir, env, version))}); "
            "widen --since or drop it"
        )
    matched = len(features)
    if matched > max_rows:
        keep = np.sort(np.random.default_rng(SAMPLE_SEED).choice(matched, max_rows, replace=False))
        features = [features[i] for i in keep]
        scores = [scores[i] for i in keep]
    valid = [s for s in stamps if isinstance(s, str)]
    return Current(
        features=_frame(features, where, contract),
        scores=np.asarray(scores, dtype=object if contract.task == "multiclass" else "float64"),
        log_dir=str(log_dir),
        records=records,
        matched=matched,
        by_version=by_version,
        first_ts=min(valid, default=""),
        last_ts=max(valid, default=""),
        shadowed=shadowed,
    )


def _stamps_of(log_dir: Path, env: str, version: str) -> list[str]:
    out = [
        r.get("ts", "")
        for r in predlog.read(log_dir, env)
        if isinstance(r, dict) and r.get("model_version") == version
    ]
    return [s for s in out if isinstance(s, str)] or ["(no timestamps)"]
