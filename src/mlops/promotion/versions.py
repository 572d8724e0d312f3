"""`mlops versions`: registered versions, their metrics, and where models.yaml at HEAD
deploys them."""

from __future__ import annotations

from pathlib import Path

from mlops.core import tools
from mlops.core.errors import ConfigError
from mlops.formats import models_file
from mlops.model import registry

MAIN_REFS = ("origin/main", "main")  # the branch versions are registered from, remote first


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


def mainline(root: str | Path) -> tuple[str, set[str]]:
    """The main branch (``MAIN_REFS``, else HEAD) and the commits of its first-parent line:
    the states main was in, one merge after another."""
    for ref in (*MAIN_REFS, "HEAD"):
        proc = tools.run(["git", "rev-list", "--first-parent", ref, "--"], cwd=root, check=False)
        if proc.returncode == 0:
            return ref, set(proc.stdout.split())
    return "HEAD", set()


def problems(root: str | Path = ".", model: str | None = None) -> list[str]:
    """One line per tag of ``model`` that cannot be used: a malformed message, a commit that
    is not on main's first-parent line (its figures are a claim nothing checked), a tag
    re-created or moved after models.yaml recorded it."""
    from mlops.promotion import ledger

    model = model or models_file.load_at("HEAD", root).default_model()
    found = list(registry.read_tags(root, model)[1])
    ref, line = mainline(root)
    for v in registry.list_versions(root, model):
        if v.commit not in line:
            found.append(
                f"{v.tag} points at {v.commit[:10]}, which is not on {ref}'s first-parent line "
                "(never merged): not a version `mlops check` accepts; its figures are the "
                "tag's claims"
            )
    return found + ledger.problems_at(root, "HEAD")


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
