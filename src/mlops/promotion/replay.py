"""Replay in the promotion plan: how would the candidate have answered this environment's real
traffic?

`mlops check` hands each candidate of a promotion or canary here. The candidate (fetched through
DVC, its sha256 checked before loading) scores the requests the environment's stable answered in
the window ``replay.window`` of environments/ENV.yaml (at most ``replay.max_rows``, sampled with a
fixed seed), read from the prediction log. The plan shows:

- agreement with the live answers (classification: same class; regression: within 5 % of the
  live value's scale), and the distribution of the score or value shifts, overall and per
  segment (the contract's ``segment``);
- where outcomes arrived for those requests, both models' live metrics on the same labelled
  requests with 95 % intervals (``mlops.feedback.performance``), excluding every request whose
  features equal a row the candidate was trained on (row identity: a hash of the feature values,
  against the candidate's train split as its commit's dvc.lock pins it).

Where the log, the outcomes or the training rows cannot be read, the section says so and the
plan falls back to the holdout comparison above it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.core import paths
from mlops.core.errors import MlopsError
from mlops.formats import environments, predlog
from mlops.model import registry

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
SEED = 7


@dataclass
class Replay:
    env: str
    candidate: str
    live: str
    window: str
    requests: int = 0  # logged rows of the live stable in the window, replayed
    agreement: float | None = None
    shifts: dict[str, float] = field(default_factory=dict)  # quantile -> shift
    segments: list[dict[str, Any]] = field(default_factory=list)
    outcomes: dict[str, Any] | None = None  # labelled, excluded, metrics per model
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _features_frame(logged: pd.DataFrame, contract) -> pd.DataFrame:
    """The logged features with the dtypes the model was trained on (as the server builds its
    frame), column by column: no per-row Python objects for 100,000 requests."""
    dtypes = contract.dtypes(with_target=False, features_only=True)
    out = {}
    for name in contract.features:
        column, dtype = logged[name], dtypes[name]
        if dtype in ("float64", "int64"):
            out[name] = pd.to_numeric(column, errors="coerce").astype(dtype)
        else:
            out[name] = column.astype(object).where(column.notna(), None).astype(dtype)
    return pd.DataFrame(out)


def _row_hashes(frame: pd.DataFrame, contract) -> np.ndarray:
    """One number per row from its feature values (numbers rounded to 6 decimals, whatever
    their dtype): equal rows, equal numbers."""
    text = pd.DataFrame(
        {
            name: (pd.to_numeric(frame[name], errors="coerce").round(6).astype(str)
                   if name in contract.numeric else frame[name].astype(str))
            for name in contract.features
        }
    )  # fmt: skip
    return pd.util.hash_pandas_object(text, index=False).to_numpy()


def _trained_on(root: Path, version: registry.Version, contract) -> np.ndarray | None:
    """Hashes of the rows the candidate was trained on (its train split, md5-checked)."""
    import dvc.api

    from mlops.quality import holdout

    md5 = holdout.lock_md5(holdout.show(root, version.commit, "dvc.lock"), paths.TRAIN)
    if not md5:
        return None
    dest = holdout.cache_dir() / "train" / f"{md5}.csv"
    # kept by its md5 after the first fetch: a second check of the same candidate, or of one
    # trained on the same split, needs no DVC (setting up DVC's repo costs more than the read)
    if not (dest.is_file() and holdout.md5_of(dest.read_bytes()) == md5):
        blob = dvc.api.read(paths.TRAIN, repo=str(root), rev=version.commit, mode="rb")
        if holdout.md5_of(blob) != md5:
            return None
        holdout.store(dest, blob)
    return _row_hashes(contract.read_table(dest), contract)


def _shift_values(candidate, logged: pd.DataFrame, contract) -> np.ndarray | None:
    if contract.task == "binary":
        pos = list(candidate.classes).index(contract.positive)
        live = pd.to_numeric(logged["probability"], errors="coerce").to_numpy("float64")
        return candidate.proba[:, pos] - live
    if contract.task == "regression":
        live = pd.to_numeric(logged["prediction"], errors="coerce").to_numpy("float64")
        return np.asarray(candidate.predicted, dtype="float64") - live
    return None  # multiclass: agreement says it


def _agree(candidate, logged: pd.DataFrame, contract) -> np.ndarray:
    if contract.classification:
        return np.asarray(candidate.predicted).astype(str) == logged["prediction"].astype(str)
    live = pd.to_numeric(logged["prediction"], errors="coerce").to_numpy("float64")
    scale = float(np.nanstd(live)) or 1.0
    return np.abs(np.asarray(candidate.predicted, dtype="float64") - live) <= 0.05 * scale


def _quantiles(values: np.ndarray) -> dict[str, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return {}
    return {f"p{int(q * 100)}": round(float(np.quantile(values, q)), 4) for q in QUANTILES}


def _segments(logged, agree, shift, segment: str | None) -> list[dict[str, Any]]:
    if not segment or segment not in logged:
        return []
    out = []
    for name, idx in logged.groupby(segment, sort=True).indices.items():
        row = {"segment": str(name), "requests": len(idx), "agreement": float(agree[idx].mean())}
        if shift is not None:
            row["mean_shift"] = round(float(np.nanmean(shift[idx])), 4)
        out.append(row)
    return out


def _outcomes(logged, candidate, contract, known, trained) -> dict:
    from mlops.feedback import join, performance

    frame = logged.assign(_candidate_prediction=np.asarray(candidate.predicted, dtype=object))
    if candidate.proba is not None and contract.task == "binary":
        pos = list(candidate.classes).index(contract.positive)
        frame["_candidate_probability"] = candidate.proba[:, pos]
    labelled = join.label(frame, known, contract.target)
    labelled = labelled[labelled[contract.target].notna()]
    excluded = 0
    if trained is not None and len(labelled):
        seen = np.isin(labelled["_row_hash"].to_numpy(), trained)
        excluded = int(seen.sum())
        labelled = labelled[~seen]
    if labelled.empty:
        return {"labelled": 0, "excluded": excluded, "metrics": {}}
    as_candidate = labelled.assign(prediction=labelled["_candidate_prediction"])
    if "_candidate_probability" in labelled:
        as_candidate["probability"] = labelled["_candidate_probability"]
    metrics = {
        "live": {k: v.to_dict() for k, v in performance.live_metrics(labelled, contract).items()},
        "candidate": {
            k: v.to_dict() for k, v in performance.live_metrics(as_candidate, contract).items()
        },
    }
    return {"labelled": len(labelled), "excluded": excluded, "metrics": metrics}


def replay(
    root: str | Path,
    env: str,
    version: registry.Version,
    live_version: str,
    *,
    log_dir: str | Path | None = None,
    store: str | Path | None = None,
) -> Replay:
    """Replay ``version`` on ``env``'s logged requests answered by ``live_version``."""
    from threadpoolctl import threadpool_limits

    from mlops.core.durations import parse_duration
    from mlops.evaluation import scoring
    from mlops.feedback import join
    from mlops.formats.contract import contract_of
    from mlops.quality import champion
    from mlops.quality.holdout import version_contract

    root = Path(root)
    t0 = time.perf_counter()
    config = environments.load(env, root).replay
    result = Replay(env, version.version, live_version, config.window)
    log_dir = Path(log_dir) if log_dir is not None else root / predlog.DEFAULT_DIR
    if not predlog.files(log_dir, env):
        result.notes.append(f"no prediction log in {log_dir / env}: nothing to replay")
        return result
    try:
        window = parse_duration(config.window)
        logged = join.read_log(log_dir, env, since=window, features=True).frame
    except MlopsError as exc:
        result.notes.append(f"the prediction log cannot be read ({exc}): nothing replayed")
        return result
    logged = logged[(logged["route"] == "stable")
                    & (logged["model_version"].astype(str) == live_version)]  # fmt: skip
    if len(logged) > config.max_rows:
        logged = logged.sample(config.max_rows, random_state=SEED)
    logged = logged.reset_index(drop=True)
    if logged.empty:
        result.notes.append(f"no request answered by {live_version} in the last {config.window}")
        return result
    try:
        model = champion.load_live(root, version, version.digest)
        contract = contract_of(model) or version_contract(root, version)
        frame = _features_frame(logged, contract)
        # one thread: tree ensembles otherwise spread a batch over OpenMP threads whose waits
        # cost more than they save when other work shares the cores (a CI runner, a busy host):
        # 100,000 rows took 3x the CPU and wall time at load 10 on 2 cores (benchmarks/README.md)
        with threadpool_limits(1):
            candidate = scoring.predict(
                model, frame, contract, champion.threshold_for(model, version)
            )
    except (MlopsError, KeyError, ValueError, TypeError) as exc:
        result.notes.append(f"{version.tag} could not replay the logged requests: {exc}")
        return result
    agree = _agree(candidate, logged, contract)
    shift = _shift_values(candidate, logged, contract)
    result.requests = len(logged)
    result.agreement = float(agree.mean())
    result.shifts = _quantiles(shift) if shift is not None else {}
    result.segments = _segments(logged, agree, shift, contract.segment)
    _with_outcomes(result, root, version, logged, frame, candidate, contract, store)
    result.seconds = round(time.perf_counter() - t0, 2)
    return result


def _with_outcomes(result, root, version, logged, frame, candidate, contract, store) -> None:
    """Both models' live metrics on the labelled requests the candidate did not train on. The
    outcomes are read first: without any, the training rows (a DVC fetch) and the rows' hashes
    are not needed."""
    from mlops.feedback import outcomes

    try:
        known = outcomes.load(root, result.env, contract, store)
    except MlopsError as exc:
        result.notes.append(f"the outcomes cannot be read ({exc})")
        return
    if known.empty:
        result.notes.append(f"no outcomes stored for {result.env}: live metrics not compared")
        return
    try:
        trained = _trained_on(root, version, contract)
    except Exception as exc:  # DVC raises many types; all mean "not fetchable"
        trained = None
        result.notes.append(f"{version.tag}'s training rows cannot be read ({type(exc).__name__})")
    if trained is None:
        result.notes.append(
            "training rows unknown: outcomes are not compared (a request the candidate trained "
            "on would flatter it)"
        )
        return
    logged["_row_hash"] = _row_hashes(frame, contract)
    result.outcomes = _outcomes(logged, candidate, contract, known, trained)


def _interval(metric: dict[str, Any]) -> str:
    low, high = metric.get("low"), metric.get("high")
    shown = f"{metric['value']:.4f}"
    return shown if low is None else f"{shown} [{low:.4f}, {high:.4f}]"


def markdown(r: Replay) -> list[str]:
    lines = ["", f"#### Replay of {r.candidate} on {r.env}'s traffic (last {r.window})", ""]
    if r.agreement is not None:
        lines.append(
            f"{r.requests:,} requests answered by {r.live} replayed in {r.seconds:g} s: "
            f"the candidate agrees with the live answer on **{r.agreement:.1%}**."
        )
    if r.shifts:
        quantiles = " · ".join(f"{k} {v:+.4f}" for k, v in r.shifts.items())
        lines += ["", f"Shift of the score or value (candidate - live): {quantiles}"]
    if r.segments:
        lines += ["", "| segment | requests | agreement | mean shift |", "|---|---:|---:|---:|"]
        lines += [f"| {s['segment']} | {s['requests']:,} | {s['agreement']:.1%} | "
                  f"{s.get('mean_shift', '')} |" for s in r.segments]  # fmt: skip
    if r.outcomes and r.outcomes["metrics"]:
        o = r.outcomes
        lines += ["", f"On the same {o['labelled']:,} labelled requests ({o['excluded']:,} the "
                  "candidate trained on left out), live metrics with 95 % intervals:", "",
                  f"| metric | {r.live} (live) | {r.candidate} |", "|---|---|---|"]  # fmt: skip
        for name, live in o["metrics"]["live"].items():
            cand = o["metrics"]["candidate"].get(name)
            lines.append(f"| {name} | {_interval(live)} | {_interval(cand) if cand else '-'} |")
    lines += [f"- {n}" for n in r.notes]
    if r.agreement is None:
        lines.append("- the holdout comparison above is the evidence for this change")
    return lines


def add_to_check(report, root: str | Path, **where) -> None:
    """`mlops check`'s hook: a replay section per candidate of a promotion or canary."""
    for plan in report.plans:
        if plan.kind not in ("promotion", "canary") or plan.live is None:
            continue
        for version in plan.candidates:
            try:
                found = replay(root, plan.env, version, plan.live.version, **where)
            except MlopsError as exc:
                report.sections += ["", f"Replay of {version.version} on {plan.env}: {exc}"]
                continue
            report.sections += markdown(found)
