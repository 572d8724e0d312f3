"""`mlops register`: a new version as an annotated tag `<model>@vX.Y.Z`, once per model file.

The read side (what a version is, resolving and fetching it) is ``mlops.model.registry``; this
is the write side: the next number, the workspace checks before tagging, and the push that
claims the number on origin (withdrawn when another registration took it first).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops.core import paths, tools
from mlops.core.errors import MlopsError, NotFoundError
from mlops.model.registry import (
    Version,
    get_version,
    latest,
    list_versions,
    parse_version,
    tag_name,
    workspace_metadata,
)

BUMPS = ("major", "minor", "patch")
FIRST_VERSION = "v1.0.0"


@dataclass(frozen=True)
class Registration:
    """What `mlops register` did: ``created`` is False when the model was already registered."""

    version: Version
    created: bool
    pushed: bool = False


def bump_version(previous: str | None, bump: str = "minor") -> str:
    """The version after ``previous``; the first one is v1.0.0 whatever the bump."""
    if bump not in BUMPS:
        raise MlopsError(f"--bump {bump!r}: choose one of {', '.join(BUMPS)}")
    if previous is None:
        return FIRST_VERSION
    major, minor, patch = parse_version(previous)
    if bump == "major":
        return f"v{major + 1}.0.0"
    if bump == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


def _file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# what a version's metadata is read from: each must be the file dvc.lock pins, committed
REGISTERED_FILES = (paths.MODEL, paths.METRICS, paths.SLICES, paths.SERVING, paths.BASELINES)


def _lock_outs(root: Path) -> dict[str, str]:
    lock = yaml.safe_load((root / "dvc.lock").read_text()) or {}
    return {
        out["path"]: out.get("md5")
        for stage in lock.get("stages", {}).values()
        for out in stage.get("outs", [])
    }


def _check_workspace(root: Path, metadata: dict[str, Any]) -> None:
    """The tag points at HEAD, so the files its metadata is read from must be exactly what
    HEAD's dvc.lock pins and Git holds (an edited reports/metrics.json would become the
    version's metrics, and gates would later read them)."""
    if metadata["md5"] is None:
        raise NotFoundError(f"dvc.lock: no output {paths.MODEL}; run `dvc repro` first")
    changed = tools.git(
        "diff", "--name-only", "HEAD", "--", "dvc.lock", *REGISTERED_FILES, cwd=root
    )
    if "dvc.lock" in changed.split():
        raise MlopsError(
            "dvc.lock has uncommitted changes: commit it first, so the tag's commit pins this model"
        )
    pinned = _lock_outs(root)
    for path in REGISTERED_FILES:
        want, file = pinned.get(path), root / path
        if want and file.is_file() and _file_md5(file) != want:
            raise MlopsError(
                f"{path} is not the file dvc.lock pins (md5 {want}): it changed after the "
                "pipeline ran (`dvc status` shows it); run `dvc repro` (or `dvc checkout`, "
                "`git checkout` for Git-tracked reports) so the workspace matches dvc.lock"
            )
    if changed:
        raise MlopsError(
            f"{', '.join(changed.split())}: uncommitted changes; commit them first, so the tag's "
            "commit holds the metrics it records"
        )


def create_tag(root: str | Path, model: str, version: str, metadata: dict[str, Any]) -> Version:
    """An annotated tag ``<model>@<version>`` at HEAD whose message is the metadata as JSON."""
    tag = tag_name(model, version)
    tools.git("tag", "-a", tag, "-m", json.dumps(metadata), "HEAD", cwd=root)
    return get_version(root, model, version)


def _has_remote(root: Path, remote: str = "origin") -> bool:
    return remote in tools.git("remote", cwd=root).split()


def remote_tags(root: Path, model: str, remote: str = "origin") -> set[str]:
    """Fetch ``model``'s tags from ``remote`` (origin's win over a local tag of the same name)
    and return their names: what is registered for everyone, not just in this clone."""
    pattern = f"refs/tags/{model}@v*"
    proc = tools.run(
        ["git", "fetch", "--quiet", "--no-tags", remote, f"+{pattern}:{pattern}"],
        cwd=root,
        check=False,
    )
    if proc.returncode != 0:
        raise MlopsError(
            f"cannot fetch {model}'s tags from {remote} ({tools.first_line(proc.stderr)}); "
            "register compares with the remote's tags so two registrations never claim one version"
        )
    listed = tools.git("ls-remote", "--tags", "--refs", remote, pattern, cwd=root)
    return {line.split("refs/tags/", 1)[1] for line in listed.splitlines() if "refs/tags/" in line}


def _local_only(root: Path, model: str, on_remote: set[str]) -> list[Version]:
    return [v for v in list_versions(root, model) if v.tag not in on_remote]


def _push_or_withdraw(root: Path, version: Version) -> bool:
    """Push the tag; when the remote refuses it (another registration took the number), delete
    the local tag so no local-only tag is left behind. True when pushed."""
    refspec = f"refs/tags/{version.tag}"
    proc = tools.run(["git", "push", "--quiet", "origin", refspec], cwd=root, check=False)
    if proc.returncode == 0:
        return True
    tools.git("tag", "-d", version.tag, cwd=root)
    return False


def _registered(root: Path, model: str, sha256: str, push: bool) -> Registration | None:
    """The registration that already holds this model, pushing it if it was only local."""
    on_remote = remote_tags(root, model) if _has_remote(root) else None
    local_only = [] if on_remote is None else _local_only(root, model, on_remote)
    previous = latest(root, model)
    if previous is None or previous.digest != sha256:
        if push and local_only:
            names = " ".join(v.tag for v in local_only)
            raise MlopsError(
                f"local tags not on origin: {names}; push them (`git push origin {names}`) or "
                f"delete them (`git tag -d {names}`) before `mlops register --push`"
            )
        return None
    if push and previous in local_only:  # `register` then `register --push`: push it now
        if not _push_or_withdraw(root, previous):
            return None
        return Registration(previous, created=False, pushed=True)
    return Registration(previous, created=False)


def register(
    root: str | Path = ".", model: str | None = None, bump: str | None = None, push: bool = False
) -> Registration:
    """Tag the workspace model as a new version unless its sha256 is already the latest's.

    With ``push``: compares with origin's tags first, pushes the new tag, and when origin
    refuses it (a concurrent registration took the number) deletes it and tries the next one.
    """
    from mlops.formats.contract import load_contract

    root = Path(root)
    model = model or load_contract(root).model
    if not (root / paths.MODEL).is_file():
        raise NotFoundError(
            f"{paths.MODEL}: no model in the workspace; run `dvc pull` or `dvc repro`"
        )
    metadata = workspace_metadata(root)
    for _ in range(3):
        done = _registered(root, model, metadata["sha256"], push)
        if done is not None:
            return done
        _check_workspace(root, metadata)
        version = _tag_new(root, model, bump, metadata)
        if not push or _push_or_withdraw(root, version):
            return Registration(version, created=True, pushed=push)
    raise MlopsError(
        f"origin refused {model}'s new tag three times (other registrations keep taking the "
        "number); run `mlops register --push` again"
    )


def _tag_new(root: Path, model: str, bump: str | None, metadata: dict[str, Any]) -> Version:
    from mlops.model import card

    previous = latest(root, model)
    number = bump_version(previous.version if previous else None, bump or "minor")
    text = card.render(root, version=number, metadata=metadata, model=model)
    metadata = {**metadata, "model_card": text}
    return create_tag(root, model, number, metadata)
