"""Drift: the stable version's logged traffic against the data that version was trained on.

Reference: the training split (``paths.TRAIN``) at the version's commit, fetched through DVC, for
the features; the evaluate stage's holdout predictions (``paths.PREDICTIONS``) at that commit for
the prediction. Column kinds and the task come from the contract at the version's commit (what it
was trained with). Prediction drift per task: the positive class's probability (binary), the
shares of the predicted classes (multiclass), the predicted value (regression).

Holdout predictions, not scores on the training split: they are out-of-sample, which is what
live traffic from an unchanged population looks like (a boosted model's scores on its own
training rows are sharper than it will ever be in production), and they need no model download.

Evidently 0.7 runs with an explicit ``DataDefinition`` built from that contract. It picks
the test per column by reference size (K-S / chi-square / Z up to 1,000 rows, Wasserstein /
Jensen-Shannon above); a p-value test drifts below its threshold, a distance at or above it.
The dataset drifts when the share of drifted feature columns reaches ``monitoring.drift_share``.

Columns marked ``personal: true`` (in the version's contract or the workspace's) are not
compared: the log keeps only their hash, which never matches the training data's values. The
report says which were left out.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops.core import paths
from mlops.core.io_utils import write_json
from mlops.formats import environments, models_file, predlog
from mlops.model import registry
from mlops.monitoring import drift_routes
from mlops.monitoring.drift_current import Current, NothingToCompare, load_current, parse_duration
from mlops.monitoring.drift_reference import (
    DEFAULT_MAX_ROWS,
    PREDICTION,
    DriftInputError,
    Reference,
    _sample_contract,
    _workspace_personal,
    comparable,
    load_reference,
    version_contract,
)
from mlops.monitoring.evidently_drift import (
    ColumnDrift,
    column_results,
    feature_report,
    kinds,
    score_report,
)

DEFAULT_OUT_DIR = "reports/drift"


@dataclass
class DriftResult:
    env: str
    model: str
    version: str
    columns: list[ColumnDrift]
    prediction: ColumnDrift
    drift_share: float  # the environment's threshold
    current: dict[str, Any]
    reference: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    evidently: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # personal features, not compared
    routes: list[dict[str, Any]] = field(default_factory=list)  # canary, shadow (drift_routes)

    @property
    def drifted_columns(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted]

    @property
    def share(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return self.share >= self.drift_share

    @property
    def drift(self) -> bool:
        """Drift = enough feature columns drifted, or the score distribution moved."""
        return self.dataset_drift or self.prediction.drifted

    @property
    def exit_code(self) -> int:
        return 1 if self.drift else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "model": self.model,
            "version": self.version,
            "drift": self.drift,
            "dataset_drift": self.dataset_drift,
            "drifted_share": round(self.share, 6),
            "drift_share_threshold": self.drift_share,
            "drifted_columns": [c.column for c in self.drifted_columns],
            "columns": [asdict(c) for c in self.columns],
            "skipped_personal_columns": self.skipped,
            "prediction_drift": asdict(self.prediction),
            "current": self.current,
            "reference": self.reference,
            "seconds": self.seconds,
            "evidently": self.evidently,
            "routes": self.routes,
        }


def analyze(current: Current, reference: Reference, drift_share: float) -> tuple:
    """Run both reports; return (column results, prediction result, snapshots)."""
    schema = reference.contract or _sample_contract()
    _, name, categorical = PREDICTION[schema.task]
    features = feature_report(current.features, reference.features, drift_share, schema)
    scores = score_report(current.scores, reference.scores, name, categorical)
    columns = column_results(features.dict(), kinds(schema))
    prediction = column_results(scores.dict(), {name: "prediction"})[0]
    order = {name: i for i, name in enumerate(schema.features)}
    return sorted(columns, key=lambda c: order.get(c.column, 99)), prediction, features, scores


# ---------------------------------------------------------------------------------------------
# reports


def markdown(result: DriftResult) -> str:
    """The summary a human reads first (the monitor workflow posts it to the monitoring issue)."""
    verdict = "DRIFT" if result.drift else "no drift"
    cur, ref = result.current, result.reference
    lines = [
        f"## Drift in {result.env}: {verdict}",
        "",
        f"Stable version **{result.version}** ({result.model}) — logged traffic vs its training "
        f"data at commit `{ref['commit'][:10]}`.",
        "",
        f"- Feature drift: **{len(result.drifted_columns)} of {len(result.columns)}** columns "
        f"drifted (share {result.share:.2f}; the environment's `monitoring.drift_share` is "
        f"{result.drift_share:g}) → {'drift' if result.dataset_drift else 'no dataset drift'}",
        *(
            [
                f"- Not compared: {', '.join(f'`{c}`' for c in result.skipped)}, marked "
                "`personal: true` in the contract (the log keeps only a hash of the value)"
            ]
            if result.skipped
            else []
        ),
        f"- Prediction drift: {result.prediction.test} = {result.prediction.score:.4g} "
        f"(threshold {result.prediction.threshold:g}) → "
        f"{'drift' if result.prediction.drifted else 'no drift'}",
        f"- Current: {cur['rows_used']:,} rows used of {cur['rows_matched']:,} matching "
        f"(sample rate {cur['sample_rate']:.4g}), logged {cur['first_ts'] or '?'} .. "
        f"{cur['last_ts'] or '?'}" + (f", --since {cur['since']}" if cur.get("since") else ""),
        f"- Reference: {ref['rows_used']:,} of {ref['rows']:,} training rows ({ref['features']}); "
        f"{ref['score_rows']:,} holdout predictions ({ref['scores']})",
        "",
        "| column | kind | test | score | threshold | drifted |",
        "|---|---|---|---:|---:|:---:|",
    ]
    for c in [*result.columns, result.prediction]:
        lines.append(
            f"| {c.column} | {c.kind} | {c.test} | {c.score:.4g} | {c.threshold:g} | "
            f"{'**yes**' if c.drifted else 'no'} |"
        )
    lines += drift_routes.markdown(result.routes, result.version)
    lines += [
        "",
        "Reports: `drift.html` (features), `prediction_drift.html` (score), "
        "`drift.json` (everything above, machine-readable).",
    ]
    if result.drift:
        lines += [
            "",
            "What to do: look at the drifted columns in drift.html; if the new traffic "
            "is the new normal, retrain on recent data (`dvc add data` with it, open a PR).",
        ]
    return "\n".join(lines) + "\n"


def write_reports(
    result: DriftResult, features_snapshot, score_snapshot, out_dir: str | Path
) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "html": out / "drift.html",
        "prediction_html": out / "prediction_drift.html",
        "json": out / "drift.json",
        "markdown": out / "drift.md",
    }
    features_snapshot.save_html(str(files["html"]))
    score_snapshot.save_html(str(files["prediction_html"]))
    write_json(files["json"], result.to_dict())
    files["markdown"].write_text(markdown(result))
    return files


# ---------------------------------------------------------------------------------------------
# the API behind `mlops drift`


def stable_version(root: Path, env: str, model: str | None = None) -> registry.Version:
    """The registered version ``env`` serves as stable, according to models.yaml."""
    models = models_file.load(root / paths.MODELS_FILE)
    name = model or models.default_model()
    deployment = models.deployment(env, name)
    if deployment is None:
        raise NothingToCompare(
            f"{paths.MODELS_FILE}: nothing is deployed to {env!r} for {name} yet; drift compares "
            f"the version an environment serves (`mlops promote {env} vX.Y.Z` deploys one)"
        )
    return registry.get_version(root, name, deployment.stable.version)


def run(
    root: str | Path = ".",
    env: str = "production",
    *,
    since: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    log_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    model: str | None = None,
    now: datetime | None = None,
) -> tuple[DriftResult, dict[str, Path]]:
    """Compare ``env``'s logged traffic with its stable version's reference; write the reports.

    Raises ``MlopsError`` (exit 2) for anything that prevents the comparison.
    """
    root = Path(root)
    if max_rows < 100:
        raise DriftInputError(f"--max-rows {max_rows}: too few to test distributions; use >= 100")
    environment = environments.load(env, root)
    now = now or datetime.now(UTC)
    window = parse_duration(since, now) if since else None
    version = stable_version(root, env, model)
    log_dir = Path(log_dir) if log_dir is not None else root / predlog.DEFAULT_DIR
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    trained = version_contract(root, version)
    contract = comparable(trained, _workspace_personal(root))
    skipped = [c for c in trained.features if c not in contract.features]
    current = load_current(
        log_dir, env, version.version, since=window, max_rows=max_rows, now=now, contract=contract
    )
    timings["read_logs"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    reference = load_reference(root, version, max_rows, contract)
    timings["fetch_reference"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    columns, prediction, f_snap, s_snap = analyze(current, reference, environment.drift_share)
    timings["evidently"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    where = {"log_dir": log_dir, "since": window, "now": now, "max_rows": max_rows,
             "stable_drift": prediction}  # fmt: skip
    routes = []
    if current.shadowed or len(current.by_version) > 1:  # else the log holds nothing beside it
        routes = drift_routes.compare(root, env, version.model, version.version, contract, **where)
    timings["canary_and_shadow"] = round(time.perf_counter() - t0, 3)
    result = DriftResult(
        env=env,
        model=version.model,
        version=version.version,
        columns=columns,
        prediction=prediction,
        drift_share=environment.drift_share,
        current={
            "log_dir": current.log_dir,
            "records": current.records,
            "rows_matched": current.matched,
            "rows_used": len(current.features),
            "sample_rate": round(current.sample_rate, 6),
            "since": since or "",
            "first_ts": current.first_ts,
            "last_ts": current.last_ts,
            "records_by_version": current.by_version,
        },
        reference={
            "commit": reference.commit,
            "rows": reference.rows,
            "rows_used": len(reference.features),
            "score_rows": len(reference.scores),
            "features": paths.TRAIN,
            "scores": paths.PREDICTIONS,
        },
        seconds=timings,
        evidently={"features": f_snap.dict()["metrics"], "prediction": s_snap.dict()["metrics"]},
        skipped=skipped,
        routes=[r.to_dict() for r in routes],
    )
    t0 = time.perf_counter()
    files = write_reports(result, f_snap, s_snap, out_dir or root / DEFAULT_OUT_DIR)
    timings["write_reports"] = round(time.perf_counter() - t0, 3)
    return result, files
