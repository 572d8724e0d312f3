"""Scores of registered versions, kept by what decides them, so they are computed once.

`mlops promote`, `mlops check`, `mlops deploy` and every server judging a new commit of main
score the same candidate against the same live version: the same artifacts (sha256), the same
holdout and row identities (the md5s the tags' commits pin), the same code. A result is stored
under a hash of all of it, in the cache folder that already keeps the fetched artifacts and
holdouts (``$XDG_CACHE_HOME/mlops/scores``), and read back instead of scoring again:

- the key holds both tags (name, tag object, commit, full metadata), the digest models.yaml
  pins, the bytes of this package's source and the versions of the libraries that score;
  anything else changes the key, never the answer;
- only a scored result is kept (a fetch that failed is tried again next time);
- an entry that cannot be read is ignored and scored again.

The workspace's candidate (`mlops report`, then `mlops gate`, in the same CI job) is kept the
same way, by the bytes of every file its scoring reads (``workspace``).

A result is only ever written after its inputs were fetched and checked against their digests
by the code that scores them. Like any cache in the user's home, it is trusted as that home is:
a runner starts without one (do not share it between jobs through a CI cache).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.core import paths

if TYPE_CHECKING:
    from mlops.model import registry
    from mlops.quality.champion import Champion

LIBRARIES = ("scikit-learn", "numpy", "pandas", "scipy", "skops")


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """The package's source and the scoring libraries' versions, as one hash."""
    from importlib import metadata

    digest = hashlib.sha256()
    package = Path(__file__).parents[1]  # all of mlops: any code change may change a score
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} absent".encode())
    return digest.hexdigest()


def _identity(version: registry.Version) -> list:
    return [version.tag, version.obj, version.commit, version.metadata]


# What scoring the workspace's candidate reads: its model and holdout (checked against the
# dvc.lock that pins them), the row identities, the contract that reads the holdout, and the
# metrics and data.dvc a result's text quotes.
WORKSPACE_FILES = (
    paths.MODEL,
    paths.HOLDOUT,
    paths.ROW_IDS,
    "dvc.lock",
    paths.CONTRACT,
    paths.METRICS,
    paths.DATA_DVC,
)


def workspace(root: str | Path) -> list:
    """The workspace's candidate as its scores depend on it: each file scoring reads, by md5."""
    out: list = ["workspace"]
    for name in WORKSPACE_FILES:
        path = Path(root) / name
        out.append(hashlib.md5(path.read_bytes()).hexdigest() if path.is_file() else None)
    return out


def key(candidate: registry.Version | list, live: registry.Version, digest: str) -> str:
    """``candidate``: a registered version, or ``workspace(root)``."""
    payload = {
        "candidate": candidate if isinstance(candidate, list) else _identity(candidate),
        "live": _identity(live),
        "digest": digest,
        "code": fingerprint(),
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _path(name: str) -> Path:
    from mlops.model.registry import cache_dir

    return cache_dir().parent / "scores" / f"{name}.json"  # beside artifacts/


def remember(
    candidate: registry.Version | list,
    live: registry.Version,
    digest: str,
    compute: Callable[[], Champion],
    stored: Callable[..., Champion],
) -> Champion:
    """``live`` (pinned at ``digest``) against ``candidate`` on its holdout: ``stored`` from
    the cache, or ``compute``d and stored when scored."""
    path = _path(key(candidate, live, digest))
    try:
        return stored(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    found = compute()
    if found.scored:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.part")  # servers may store the same result
        tmp.write_text(json.dumps(asdict(found), sort_keys=True))
        tmp.replace(path)
    return found
