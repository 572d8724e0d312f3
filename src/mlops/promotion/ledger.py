"""A version is immutable: (name, digest) and the tag object it was first registered as.

Tags can be deleted, moved and re-created by anyone allowed to push them, so the tag is never
its own witness. When `mlops promote` first pins a version, it records the tag as it is then
(tag object id, commit, sha256) under ``registered:`` in models.yaml. That record goes through
the same pull request, review and branch protection as the pin itself, and `mlops check`
refuses a change that edits or drops a record the base holds. Check, deploy, audit and the
server compare every record with the tag as it is now, and refuse a tag that no longer
matches, naming both.
"""

from __future__ import annotations

import io

from mlops.core import paths
from mlops.formats import models_file
from mlops.formats.models_file import ModelsFile
from mlops.model import registry

KEY = "registered"


def record(version: registry.Version) -> dict[str, str]:
    return {"object": version.obj, "commit": version.commit, "digest": version.digest}


def _short(entry: dict[str, str] | None) -> str:
    if not entry:
        return "no tag at all"
    return (
        f"tag object {entry.get('object', '?')[:10]}, commit {entry.get('commit', '?')[:10]}, "
        f"{entry.get('digest', '?')}"
    )


def drift(tag: str, recorded: dict[str, str], now: registry.Version | None) -> str | None:
    """The problem line when the tag ``tag`` is no longer what models.yaml recorded."""
    current = record(now) if now is not None else None
    if current == recorded:
        return None
    what = "was deleted" if now is None else "was re-created or moved"
    return (
        f"tag {tag} {what} after it was registered: {paths.MODELS_FILE} records "
        f"{_short(recorded)}; the repository now has {_short(current)}. Refusing it. Restore "
        f"the registered tag from a clone that still has it (`git push --force origin "
        f"{recorded.get('object', '?')}:refs/tags/{tag}`) or register the model as a new "
        "version; a tag ruleset stops this (docs/security.md: a tag ruleset)"
    )


def verify(state: ModelsFile, versions: dict[str, registry.Version], tags=None) -> list[str]:
    """One problem per record of ``state`` (only ``tags`` when given) whose tag changed.
    ``versions``: tag name -> the registered version as read now."""
    problems = []
    for tag, recorded in state.registered.items():
        if tags is not None and tag not in tags:
            continue
        problem = drift(tag, recorded, versions.get(tag))
        if problem:
            problems.append(problem)
    return problems


def rewritten(base: ModelsFile, head: ModelsFile) -> list[str]:
    """Records the base holds that ``head`` changes or drops: a record is written once."""
    out = []
    for tag, entry in base.registered.items():
        now = head.registered.get(tag)
        if now != entry:
            done = "drops" if now is None else "changes"
            out.append(
                f"{paths.MODELS_FILE}: {KEY}.{tag}: this change {done} the record of how the "
                f"version was first registered ({_short(entry)} → {_short(now)}); a record is "
                "written once by `mlops promote` and never edited: restore it"
            )
    return out


def with_record(text: str, version: registry.Version) -> str:
    """models.yaml ``text`` with ``version``'s registration recorded, unless it already is."""
    y = models_file._yaml()
    doc = y.load(text)
    entries = doc.get(KEY)
    if entries is None:
        doc[KEY] = entries = type(doc)()
    if version.tag in entries:
        return text
    entries[version.tag] = record(version)
    out = io.StringIO()
    y.dump(doc, out)
    models_file.parse(out.getvalue())
    return out.getvalue()


def problems_at(root, rev: str) -> list[str]:
    """Every record of models.yaml at ``rev`` whose tag changed since (for `mlops audit`)."""
    from mlops.core import tools
    from mlops.core.errors import ConfigError

    proc = tools.run(["git", "show", f"{rev}:{paths.MODELS_FILE}"], cwd=root, check=False)
    if proc.returncode != 0 or KEY not in proc.stdout:
        return []  # nothing recorded (a models.yaml that cannot be read: the audit says so)
    try:
        state = models_file.parse(proc.stdout, f"{rev}:{paths.MODELS_FILE}", fast=True)
    except ConfigError:
        return []
    return verify(state, registered_now(root, state)) if state.registered else []


def registered_now(root, state: ModelsFile) -> dict[str, registry.Version]:
    """tag name -> the version as the repository's tags say now, for every model of ``state``
    and every model its records name."""
    models = {*state.models, *(tag.split("@", 1)[0] for tag in state.registered)}
    return {v.tag: v for m in sorted(models) for v in registry.list_versions(root, m)}
