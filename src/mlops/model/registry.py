"""The version registry: annotated Git tags in GTO's format, ``<model>@vX.Y.Z``.

A tag's message is the version's metadata as JSON (artifact path, DVC md5, sha256, data md5,
params, holdout metrics, slices, serving budget, code commit). A version resolves to:
tag -> commit -> the artifact's object in the DVC remote; its sha256 is checked after download.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops.core import paths, tools
from mlops.core.errors import MlopsError, NotFoundError
from mlops.model import remote

VERSION_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG_FIELDS = [
    "%(refname:strip=2)",
    "%(*objectname)",
    "%(objectname)",
    "%(taggername) %(taggeremail)",
    "%(taggerdate:iso-strict)",
    "%(contents)",
]


class ArtifactError(MlopsError):
    """A version's artifact cannot be fetched from the DVC remote, or its digest is wrong."""


@dataclass(frozen=True)
class Version:
    model: str
    version: str
    commit: str  # the commit the tag points at (where the artifact was produced)
    metadata: dict[str, Any] = field(default_factory=dict)
    tagger: str = ""
    tagged_at: str = ""
    obj: str = ""  # the tag object's id: a tag deleted and re-created gets a new one

    @property
    def tag(self) -> str:
        return tag_name(self.model, self.version)

    @property
    def digest(self) -> str:
        return self.metadata.get("sha256", "")

    @property
    def key(self) -> tuple[int, int, int]:
        return parse_version(self.version)


def parse_version(version: str) -> tuple[int, int, int]:
    match = VERSION_RE.match(version)
    if not match:
        raise NotFoundError(f"{version!r} is not a version; versions look like v1.2.0")
    return tuple(int(g) for g in match.groups())  # type: ignore[return-value]


def tag_name(model: str, version: str) -> str:
    return f"{model}@{version}"


def _tag_records(root: str | Path, model: str) -> list[list[str]]:
    """One record per tag ``<model>@v*``: NUL-separated fields (a tag message cannot hold a NUL,
    so no text in one can forge a field)."""
    fmt = "%00".join(_TAG_FIELDS) + "%00"
    out = tools.run(
        ["git", "for-each-ref", f"--format={fmt}", f"refs/tags/{model}@v*"], cwd=root
    ).stdout
    tokens = out.split("\0")[:-1]
    width = len(_TAG_FIELDS)
    records = [tokens[i : i + width] for i in range(0, len(tokens) - width + 1, width)]
    return [[r[0].lstrip("\n"), *r[1:]] for r in records]


def _metadata(tag: str, message: str) -> tuple[dict[str, Any] | None, str | None]:
    """A tag message's metadata, or the one problem that makes the tag unusable."""
    text = message.strip().split("\n-----BEGIN", 1)[0]
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        return None, f"tag {tag}: its message is not JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"tag {tag}: its message is JSON {type(data).__name__}, not an object"
    if not DIGEST_RE.match(str(data.get("sha256", ""))):
        return None, f"tag {tag}: its message holds no sha256:<64 hex> under 'sha256'"
    for key in ("metrics", "params", "slices", "serving", "baselines"):
        if not isinstance(data.get(key, {}), dict):
            return None, f"tag {tag}: '{key}' in its message is not a mapping"
    return data, None


def read_tags(root: str | Path, model: str) -> tuple[list[Version], list[str]]:
    """Every registered version of ``model`` (oldest first), and one problem line per tag of
    ours that cannot be used (a malformed message): reported, never an exception."""
    versions, problems = [], []
    for name, commit, obj, tagger, when, message in _tag_records(root, model):
        version = name.split("@", 1)[1]
        if not VERSION_RE.match(version) or not commit:
            continue  # a lightweight or foreign tag: not one of ours
        metadata, problem = _metadata(name, message)
        if problem:
            problems.append(f"{problem}; this version cannot be used (re-register the model)")
            continue
        versions.append(Version(model, version, commit, metadata, tagger, when, obj))
    return sorted(versions, key=lambda v: v.key), problems


def list_versions(root: str | Path, model: str) -> list[Version]:
    """Every usable registered version of ``model``, oldest first."""
    return read_tags(root, model)[0]


def latest(root: str | Path, model: str) -> Version | None:
    versions = list_versions(root, model)
    return versions[-1] if versions else None


def get_version(root: str | Path, model: str, version: str) -> Version:
    parse_version(version)
    versions, problems = read_tags(root, model)
    for v in versions:
        if v.version == version:
            return v
    tag = tag_name(model, version)
    for problem in problems:
        if problem.startswith(f"tag {tag}:"):
            raise NotFoundError(problem)
    known = ", ".join(v.version for v in versions) or "none registered yet"
    raise NotFoundError(
        f"{tag_name(model, version)}: no such version (known: {known}); "
        "`mlops versions` lists them, `git fetch --tags` brings new ones"
    )


def _dvc_md5(lock: dict, path: str) -> str | None:
    for stage in lock.get("stages", {}).values():
        for out in stage.get("outs", []):
            if out.get("path") == path:
                return out.get("md5")
    return None


def workspace_metadata(root: str | Path = ".") -> dict[str, Any]:
    """The metadata of the model in the workspace, as a version's tag message records it."""
    from mlops.core.io_utils import read_json
    from mlops.formats import params
    from mlops.formats.contract import load_contract
    from mlops.model import model_io

    root = Path(root)
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    data = yaml.safe_load((root / paths.DATA_DVC).read_text())
    return {
        "artifact": paths.MODEL,
        "md5": _dvc_md5(lock, paths.MODEL),
        "sha256": model_io.sha256(root / paths.MODEL),
        "size_bytes": (root / paths.MODEL).stat().st_size,
        "data_md5": data["outs"][0]["md5"],
        "params": params.load(root / params.PARAMS_FILE),
        "metrics": read_json(root / paths.METRICS),
        "slices": read_json(root / paths.SLICES),
        "serving": read_json(root / paths.SERVING),
        # the trivial and linear baselines on the same holdout (absent before they existed)
        "baselines": read_json(root / paths.BASELINES)
        if (root / paths.BASELINES).is_file()
        else {},
        # the contract the model was trained with (the artifact carries the same)
        "contract": load_contract(root).for_model(),
        "commit": tools.git("rev-parse", "HEAD", cwd=root),
    }


def cache_dir() -> Path:
    """Where fetched artifacts are kept by digest, shared by `mlops deploy`, the gates' live
    model and the score cache, so a second check or report downloads nothing."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlops" / "artifacts"


def fetch_artifact(root: str | Path, version: Version, dest_dir: str | Path) -> Path:
    """Download ``version``'s model file through DVC into ``dest_dir`` and verify its sha256.

    Files are cached by digest, so fetching a version twice downloads it once.
    """
    import dvc.api

    expected = version.digest
    if not expected:
        raise ArtifactError(f"{version.tag}: the tag holds no sha256; re-register it")
    dest = Path(dest_dir) / f"{expected.split(':', 1)[1]}.skops"
    if dest.is_file() and _sha256_file(dest) == expected:
        return dest
    artifact = version.metadata.get("artifact", paths.MODEL)
    try:
        blob = dvc.api.read(artifact, repo=str(root), rev=version.commit, mode="rb")
    except Exception as exc:  # DVC raises many types; all mean "not fetchable"
        raise ArtifactError(
            f"{version.tag}: cannot fetch {artifact} at {version.commit[:10]} from the DVC remote: "
            + remote.reason(exc)
        ) from exc
    actual = "sha256:" + hashlib.sha256(blob).hexdigest()
    if actual != expected:
        raise ArtifactError(
            f"{version.tag}: downloaded {artifact} has {actual}, but the version pins {expected}; "
            "refusing it"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(blob)
    tmp.replace(dest)
    return dest


def _sha256_file(path: Path) -> str:
    from mlops.model.model_io import sha256

    return sha256(path)


# --- the write side: `mlops register` -------------------------------------------------------

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


def missing_from_remote(root: str | Path, versions: list[Version]) -> list[Version]:
    """The versions whose artifact object is absent from the default DVC remote.

    Checks existence only (one stat or HEAD request per object): nothing is downloaded.
    """
    if not versions:
        return []
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            odb = repo.cloud.get_remote_odb()
            return [
                v
                for v in versions
                if not v.metadata.get("md5") or not remote.object_exists(odb, v.metadata["md5"])
            ]
    except Exception as exc:  # DVC raises many types; all mean "cannot ask the remote"
        raise ArtifactError(
            "cannot query the DVC remote: "
            + remote.reason(exc, "check `dvc remote list` and its credentials")
        ) from exc
