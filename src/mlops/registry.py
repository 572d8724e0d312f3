"""The version registry: annotated Git tags in GTO's format, ``<model>@vX.Y.Z``.

A tag's message is the version's metadata as JSON (artifact path, DVC md5, sha256, data md5,
params, holdout metrics, slices, serving budget, code commit). A version resolves to:
tag -> commit -> the artifact's object in the DVC remote; its sha256 is checked after download.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops import paths, tools
from mlops.errors import MlopsError, NotFoundError

VERSION_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
_SEP = "\x1f"


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


def list_versions(root: str | Path, model: str) -> list[Version]:
    """Every registered version of ``model``, oldest first."""
    fmt = (
        _SEP.join(
            [
                "%(refname:strip=2)",
                "%(*objectname)",
                "%(taggername) %(taggeremail)",
                "%(taggerdate:iso-strict)",
                "%(contents)",
            ]
        )
        + "\x1e"
    )
    out = tools.git("for-each-ref", f"--format={fmt}", f"refs/tags/{model}@v*", cwd=root)
    versions = []
    for record in filter(None, (r.strip("\n") for r in out.split("\x1e"))):
        name, commit, tagger, when, message = record.split(_SEP, 4)
        version = name.split("@", 1)[1]
        if not VERSION_RE.match(version) or not commit:
            continue  # a lightweight or foreign tag: not one of ours
        try:
            metadata = json.loads(message.strip().split("\n-----BEGIN", 1)[0] or "{}")
        except json.JSONDecodeError:
            metadata = {}
        versions.append(Version(model, version, commit, metadata, tagger, when))
    return sorted(versions, key=lambda v: v.key)


def latest(root: str | Path, model: str) -> Version | None:
    versions = list_versions(root, model)
    return versions[-1] if versions else None


def get_version(root: str | Path, model: str, version: str) -> Version:
    parse_version(version)
    for v in list_versions(root, model):
        if v.version == version:
            return v
    known = ", ".join(v.version for v in list_versions(root, model)) or "none registered yet"
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
    from mlops import model_io, params
    from mlops.contract import load_contract
    from mlops.io_utils import read_json

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
        # the contract the model was trained with (the artifact carries the same)
        "contract": load_contract(root).for_model(),
        "commit": tools.git("rev-parse", "HEAD", cwd=root),
    }


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
            f"{version.tag}: cannot fetch {artifact} at {version.commit[:10]} from the DVC remote "
            f"({type(exc).__name__}: {str(exc)[:300]}); was `dvc push` run after training?"
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
    from mlops.model_io import sha256

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


def _check_workspace(root: Path, metadata: dict[str, Any]) -> None:
    """The tag points at HEAD, so HEAD's dvc.lock must pin exactly the file being registered."""
    model = root / paths.MODEL
    if metadata["md5"] is None:
        raise NotFoundError(f"dvc.lock: no output {paths.MODEL}; run `dvc repro` first")
    if _file_md5(model) != metadata["md5"]:
        raise MlopsError(
            f"{paths.MODEL} is not the file dvc.lock pins (md5 {metadata['md5']}); "
            "run `dvc checkout` (or `dvc repro`) so the workspace matches dvc.lock"
        )
    if tools.run(
        ["git", "diff", "--quiet", "HEAD", "--", "dvc.lock"], cwd=root, check=False
    ).returncode:
        raise MlopsError(
            "dvc.lock has uncommitted changes: commit it first, so the tag's commit pins this model"
        )


def create_tag(root: str | Path, model: str, version: str, metadata: dict[str, Any]) -> Version:
    """An annotated tag ``<model>@<version>`` at HEAD whose message is the metadata as JSON."""
    tag = tag_name(model, version)
    tools.git("tag", "-a", tag, "-m", json.dumps(metadata), "HEAD", cwd=root)
    return get_version(root, model, version)


def push_tag(root: str | Path, version: Version, remote: str = "origin") -> None:
    tools.git("push", remote, f"refs/tags/{version.tag}", cwd=root)


def register(
    root: str | Path = ".", model: str | None = None, bump: str | None = None, push: bool = False
) -> Registration:
    """Tag the workspace model as a new version unless its sha256 is already the latest's."""
    from mlops import card
    from mlops.contract import load_contract

    root = Path(root)
    model = model or load_contract(root).model
    if not (root / paths.MODEL).is_file():
        raise NotFoundError(
            f"{paths.MODEL}: no model in the workspace; run `dvc pull` or `dvc repro`"
        )
    metadata = workspace_metadata(root)
    previous = latest(root, model)
    if previous is not None and previous.digest == metadata["sha256"]:
        return Registration(previous, created=False)
    _check_workspace(root, metadata)
    number = bump_version(previous.version if previous else None, bump or "minor")
    metadata["model_card"] = card.render(root, version=number, metadata=metadata, model=model)
    version = create_tag(root, model, number, metadata)
    if push:
        push_tag(root, version)
    return Registration(version, created=True, pushed=push)


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
                if not v.metadata.get("md5") or not odb.exists(v.metadata["md5"])
            ]
    except Exception as exc:  # DVC raises many types; all mean "cannot ask the remote"
        raise ArtifactError(
            f"cannot query the DVC remote ({type(exc).__name__}: {str(exc)[:300]}); "
            "check `dvc remote list` and its credentials"
        ) from exc
