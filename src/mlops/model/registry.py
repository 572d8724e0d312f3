"""The version registry: annotated Git tags in GTO's format, ``<model>@vX.Y.Z``.

A tag's message is the version's metadata as JSON (artifact path, DVC md5, sha256, data md5,
params, holdout metrics, slices, serving budget, code commit). A version resolves to:
tag -> commit -> the artifact's object in the DVC remote; its sha256 is checked after download.
This is the read side; `mlops register` writes tags with ``mlops.model.register``.
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
