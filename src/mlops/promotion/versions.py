"""`mlops versions`: registered versions, their metrics, and where models.yaml at HEAD
deploys them."""

from __future__ import annotations

from pathlib import Path

from mlops.core.errors import ConfigError
from mlops.formats import models_file
from mlops.model import registry


def _deployed(root, model: str) -> dict[str, list[str]]:
    """version -> ["staging", "production (canary 10%)", ...] per models.yaml at HEAD."""
    try:
        state = models_file.load_at("HEAD", root)
    except ConfigError:
        return {}
    where: dict[str, list[str]] = {}
    for env, dep in state.models.get(model, {}).items():
        where.setdefault(dep.stable.version, []).append(env)
        if dep.canary:
            where.setdefault(dep.canary.version, []).append(f"{env} (canary {dep.canary.traffic}%)")
    return where


def list_versions(root: str | Path = ".", model: str | None = None) -> list[dict]:
    root = Path(root)
    model = model or models_file.load_at("HEAD", root).default_model()
    where = _deployed(root, model)
    return [
        {
            "model": model,
            "version": v.version,
            "tag": v.tag,
            "commit": v.commit,
            "digest": v.digest,
            "tagged_at": v.tagged_at,
            "tagger": v.tagger,
            "metrics": v.metadata.get("metrics", {}),
            "deployed": where.get(v.version, []),
        }
        for v in registry.list_versions(root, model)
    ]


def problems(root: str | Path = ".", model: str | None = None) -> list[str]:
    """One line per tag of ``model`` that cannot be used (a malformed message)."""
    model = model or models_file.load_at("HEAD", root).default_model()
    return registry.read_tags(root, model)[1]


def table(rows: list[dict]) -> str:
    if not rows:
        return "no versions registered yet (`mlops register` after a merge to main makes one)"
    names = sorted({m for r in rows for m in r["metrics"]})
    header = ["version", "commit", "tagged", *names, "deployed"]
    body = [
        [
            r["version"],
            r["commit"][:10],
            r["tagged_at"][:19],
            *(f"{r['metrics'].get(n, float('nan')):.4f}" for n in names),
            ", ".join(r["deployed"]) or "-",
        ]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [header, *body]
    )
