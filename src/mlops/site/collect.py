"""Everything the registry page shows, gathered from Git through the modules that own it.

Versions come from ``promotion.versions`` and ``registry`` (tags and their metadata), only
those registered from main: a tag whose commit is not on main's first-parent line (a branch,
an unmerged commit) is left off the page and named in a note. The
promotion trail from ``promotion.audit``, the desired state from ``models_file``, the policies
from ``environments``, the live state from ``promotion.status`` (optional, bounded in time), and
the drift summary from the ``drift.json`` that ``mlops drift`` writes. Nothing here parses Git
output itself.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops.core import paths, tools
from mlops.core.errors import ConfigError
from mlops.formats import environments, models_file
from mlops.model import registry
from mlops.promotion import audit, status, versions

DRIFT_DIR = "reports/drift"
METRIC_ORDER = ("roc_auc", "f1", "accuracy", "average_precision", "precision", "recall")


@dataclass
class Pinned:
    """What one environment pins (stable or canary) and the change that set it."""

    version: str
    digest: str
    traffic: int | None = None
    since: str | None = None
    pr: int | None = None
    commit: str | None = None
    subject: str | None = None


@dataclass
class EnvView:
    name: str
    url: str
    requires: str | None
    max_traffic: int
    stable: Pinned | None
    canary: Pinned | None
    last_change: dict | None
    live: dict | None = None  # promotion.status.env_status's row; None: not checked


@dataclass
class VersionView:
    version: str
    tag: str
    commit: str
    digest: str
    tagged_at: str
    tagger: str
    metrics: dict[str, float]
    deployed: list[str]
    ever_live: list[str]
    card: str
    data_md5: str = ""
    size_bytes: int | None = None


@dataclass
class SiteData:
    model: str
    head: str
    built_at: str
    repo_url: str | None
    environments: list[EnvView]
    versions: list[VersionView]  # oldest first
    changes: list[dict]  # audit rows, oldest first
    metrics: list[str]  # main metrics first
    thresholds: dict[str, tuple[str, float]]  # metric -> (env, minimum)
    drift: dict | None = None
    drift_files: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    off_main: list[str] = field(default_factory=list)  # tags left off: not registered from main
    problems: list[str] = field(default_factory=list)  # rewritten tags, refused direct pushes


def model_name(root: Path) -> str:
    """The model the registry commands use by default (as `mlops versions` resolves it)."""
    try:
        return models_file.load_at("HEAD", root).default_model()
    except ConfigError:
        return models_file.load(root / paths.MODELS_FILE).default_model()


def _desired(root: Path) -> models_file.ModelsFile:
    try:
        return models_file.load_at("HEAD", root)
    except ConfigError:
        return models_file.load(root / paths.MODELS_FILE)


def audit_rows(root: Path, model: str, trail: audit.Trail | None = None) -> list[dict]:
    """The promotion trail as plain dicts, oldest first (``audit.history``'s rows)."""
    trail = trail or audit.read(root)
    return [c.to_dict() for c in trail.changes if c.model == model]


def integrity(root: Path, trail: audit.Trail) -> list[str]:
    """What the page must not let pass as fact, as `mlops audit` says it: tags re-created or
    moved after models.yaml recorded them, and direct pushes `mlops check` refuses (the state
    they ask for was never served)."""
    from mlops.promotion import ledger, unreviewed

    refused = [u.describe() for u in unreviewed.judge(root, trail) if u.refused]
    return ledger.problems_at(root, "HEAD") + refused


# --- environments ---------------------------------------------------------------------------


def _same(a: dict | None, b: dict | None) -> bool:
    """The same canary: version and traffic (a digest alone cannot change for a version)."""
    a, b = a or {}, b or {}
    return (a.get("version"), a.get("traffic")) == (b.get("version"), b.get("traffic"))


def _pinned(pin, change: dict | None, traffic: int | None = None) -> Pinned:
    change = change or {}
    return Pinned(
        pin.version,
        pin.digest,
        traffic,
        change.get("time"),
        change.get("pr"),
        change.get("commit"),
        change.get("subject"),
    )


def since_changes(rows: list[dict]) -> tuple[dict | None, dict | None]:
    """For one environment's rows (oldest first): the change that made the current stable
    version stable, and the one that set the current canary (version and traffic)."""
    stable_from = canary_from = None
    for row in rows:
        before, after = row.get("before") or {}, row.get("after") or {}
        if not after or before.get("version") != after.get("version"):
            stable_from = row if after else None
        if not after.get("canary"):
            canary_from = None
        elif not _same(before.get("canary"), after.get("canary")):
            canary_from = row
    return stable_from, canary_from


def environment_views(root: Path, model: str, rows: list[dict]) -> list[EnvView]:
    state = _desired(root)
    configs = environments.load_all(root)
    names = list(dict.fromkeys([*configs, *state.models.get(model, {})]))
    views = []
    for name in names:
        env_rows = [r for r in rows if r["env"] == name]
        stable_from, canary_from = since_changes(env_rows)
        dep = state.deployment(name, model)
        config = configs.get(name)
        views.append(
            EnvView(
                name=name,
                url=config.serving.url if config else "",
                requires=config.requires if config else None,
                max_traffic=config.canary.max_traffic if config else 0,
                stable=_pinned(dep.stable, stable_from) if dep else None,
                canary=(
                    _pinned(dep.canary, canary_from, dep.canary.traffic)
                    if dep and dep.canary
                    else None
                ),
                last_change=env_rows[-1] if env_rows else None,
            )
        )
    return views


def check_live(root: Path, views: list[EnvView], model: str, timeout: float) -> None:
    """Ask each server's /version in parallel (``status.env_status``); a server that has not
    answered within ``timeout`` seconds is shown as not answering. Never waits longer."""
    state = _desired(root)
    configs = environments.load_all(root)
    answers: dict[str, dict] = {}

    def ask(view: EnvView) -> None:
        rate = configs[view.name].usd_per_cpu_hour if view.name in configs else 0.0
        answers[view.name] = status.env_status(
            view.name, view.url, state.deployment(view.name, model), rate
        )

    # daemon threads: a server that hangs cannot keep the command (or the interpreter) waiting
    threads = [threading.Thread(target=ask, args=(v,), daemon=True) for v in views if v.url]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    for view in (v for v in views if v.url):
        view.live = answers.get(view.name) or {
            "sync": "Unknown",
            "health": "Unknown",
            "reason": f"no answer from {view.url} within {timeout:g} s",
        }


# --- versions -------------------------------------------------------------------------------


def _ever_live(rows: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in rows:
        after = row.get("after") or {}
        for version, label in (
            (after.get("version"), row["env"]),
            ((after.get("canary") or {}).get("version"), f"{row['env']} (canary)"),
        ):
            if version and label not in out.setdefault(version, []):
                out[version].append(label)
    return out


def version_views(root: Path, model: str, rows: list[dict]) -> tuple[list[VersionView], list[str]]:
    """The versions registered from main, and the tags left off (their commit is not on main's
    first-parent line: a version must be what main was, never a branch's commit)."""
    listed = versions.list_versions(root, model)
    metadata = {v.version: v.metadata for v in registry.list_versions(root, model)}
    _, line = versions.mainline(root)
    ever = _ever_live(rows)
    views = [
        VersionView(
            version=r["version"],
            tag=r["tag"],
            commit=r["commit"],
            digest=r["digest"],
            tagged_at=r["tagged_at"],
            tagger=r["tagger"],
            metrics={k: v for k, v in r["metrics"].items() if isinstance(v, (int, float))},
            deployed=r["deployed"],
            ever_live=ever.get(r["version"], []),
            card=metadata.get(r["version"], {}).get("model_card", ""),
            data_md5=metadata.get(r["version"], {}).get("data_md5", ""),
            size_bytes=metadata.get(r["version"], {}).get("size_bytes"),
        )
        for r in listed
    ]
    return [v for v in views if v.commit in line], [v.tag for v in views if v.commit not in line]


def main_metrics(views: list[VersionView], root: Path) -> tuple[list[str], dict]:
    """Gate metrics first (production's minimums are drawn as thresholds), then the others."""
    present = dict.fromkeys(m for v in views for m in v.metrics)
    configs = environments.load_all(root)
    thresholds: dict[str, tuple[str, float]] = {}
    for name in sorted(configs, key=lambda n: configs[n].requires is None):
        for metric, value in configs[name].gates.min.items():
            thresholds.setdefault(metric, (name, value))
    ordered = [*thresholds, *METRIC_ORDER, *sorted(present)]
    return [m for m in dict.fromkeys(ordered) if m in present], thresholds


# --- drift ----------------------------------------------------------------------------------


def latest_drift(drift_dir: Path) -> tuple[dict | None, list[Path]]:
    """The newest ``drift.json`` under ``drift_dir`` (and its sibling reports), if any."""
    found = (
        sorted(drift_dir.rglob("drift.json"), key=lambda p: p.stat().st_mtime)
        if (drift_dir.is_dir())
        else []
    )
    if not found:
        return None, []
    newest = found[-1]
    try:
        data = json.loads(newest.read_text())
    except (OSError, ValueError):
        return None, []
    data.pop("evidently", None)  # the raw Evidently result: in drift.html, not on the page
    data["written_at"] = datetime.fromtimestamp(newest.stat().st_mtime, UTC).isoformat(
        timespec="seconds"
    )
    data["source"] = str(newest)
    siblings = [newest.parent / n for n in ("drift.html", "prediction_drift.html", "drift.md")]
    return data, [p for p in siblings if p.is_file()]


# --- the repository -------------------------------------------------------------------------


def repo_url(root: Path) -> str | None:
    """https://github.com/OWNER/NAME when origin is on GitHub (links for commits and PRs)."""
    proc = tools.run(["git", "remote", "get-url", "origin"], cwd=root, check=False)
    url = proc.stdout.strip() if proc.returncode == 0 else ""
    for prefix in ("git@github.com:", "https://github.com/", "ssh://git@github.com/"):
        if url.startswith(prefix):
            return "https://github.com/" + url[len(prefix) :].removesuffix(".git")
    return None


def collect(
    root: str | Path = ".",
    drift_dir: str | Path | None = None,
    live_timeout: float | None = 2.0,
) -> SiteData:
    """Gather the page's data. ``live_timeout=None`` skips asking the servers."""
    root = Path(root)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    model = model_name(root)
    trail = audit.read(root)
    rows = audit_rows(root, model, trail)
    problems = integrity(root, trail)
    seconds["audit"] = time.perf_counter() - started
    envs = environment_views(root, model, rows)
    mark = time.perf_counter()
    views, off_main = version_views(root, model, rows)
    seconds["versions"] = time.perf_counter() - mark
    metrics, thresholds = main_metrics(views, root)
    if live_timeout is not None:
        mark = time.perf_counter()
        check_live(root, envs, model, live_timeout)
        seconds["live"] = time.perf_counter() - mark
    drift, files = latest_drift(root / (drift_dir or DRIFT_DIR))
    return SiteData(
        model=model,
        head=tools.git("rev-parse", "HEAD", cwd=root),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        repo_url=repo_url(root),
        environments=envs,
        versions=views,
        changes=rows,
        metrics=metrics,
        thresholds=thresholds,
        drift=drift,
        drift_files=files,
        seconds=seconds,
        off_main=off_main,
        problems=problems,
    )


def as_json(data: SiteData) -> dict[str, Any]:
    """The page's data, machine-readable (written next to index.html as registry.json)."""
    from dataclasses import asdict

    out = {**vars(data), "environments": [asdict(e) for e in data.environments]}
    out["versions"] = [
        {k: v for k, v in vars(view).items() if k != "card"} for view in data.versions
    ]
    out["drift_files"] = [p.name for p in data.drift_files]
    return out
