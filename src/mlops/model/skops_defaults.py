"""skops' default trust lists, computed once per installed environment instead of per process.

Importing ``skops.io`` builds the names of the types it trusts by default
(``skops.io._trusted_types``): it imports every scikit-learn module to list the estimators and
looks every numpy and scipy ufunc up in every loaded module, about half a second of CPU in each
process that reads or writes a model (every train and evaluate stage, `mlops report`, `mlops
gate`, `mlops check`, each server worker). The lists depend on the installed libraries only, so
the first process keeps them beside those libraries (``<sys.prefix>/var/mlops/``, one file per
set of Python and library versions) and later ones hand skops the same lists.

The file lives in the environment skops is installed in: whoever can write there can change
skops itself, so it trusts nothing new. A file that is missing, unreadable, not a mapping of
lists of names, or from other versions only means skops computes the lists itself, as it did
before; a read-only environment only means the lists are never kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import types
from importlib import metadata
from pathlib import Path

MODULE = "skops.io._trusted_types"
LIBRARIES = ("skops", "scikit-learn", "numpy", "scipy")
STORE = Path(sys.prefix) / "var" / "mlops"


def _key() -> str:
    versions = [sys.version, *(f"{name}=={metadata.version(name)}" for name in LIBRARIES)]
    return hashlib.sha256("\n".join(versions).encode()).hexdigest()[:20]


def path() -> Path:
    """The file that holds the lists for the libraries installed here."""
    return STORE / f"skops-defaults-{_key()}.json"


def _read(file: Path) -> dict[str, list[str]] | None:
    try:
        lists = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    valid = isinstance(lists, dict) and all(
        name.endswith("_NAMES") and isinstance(v, list) and all(isinstance(t, str) for t in v)
        for name, v in lists.items()
    )
    return lists if valid and lists else None


def _write(file: Path, module: types.ModuleType) -> None:
    lists = {k: v for k, v in vars(module).items() if k.endswith("_NAMES") and isinstance(v, list)}
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        part = file.with_suffix(f".{os.getpid()}.part")  # processes may write it at once
        part.write_text(json.dumps(lists, sort_keys=True))
        part.replace(file)
    except OSError:
        pass


def skops_io():
    """``skops.io``, given the kept default trust lists when there are some, else keeping the
    ones it computes."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    file = path()
    lists = _read(file)
    if lists is not None:
        kept = types.ModuleType(MODULE, "skops' default trust lists, as computed before")
        kept.__dict__.update(lists)
        sys.modules[MODULE] = kept
    import skops.io

    if lists is None:
        _write(file, sys.modules[MODULE])
    else:
        skops.io._trusted_types = sys.modules[MODULE]  # as an import would have set it
    return skops.io
