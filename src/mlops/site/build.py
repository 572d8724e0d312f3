"""Build the registry page: gather, render, write (see the package docstring)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from mlops.site.collect import SiteData, as_json, collect
from mlops.site.render import page


@dataclass
class Built:
    index: Path
    data: SiteData
    seconds: float


def write(data: SiteData, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(page(data), encoding="utf-8")
    (out / "registry.json").write_text(json.dumps(as_json(data), indent=1, default=str))
    if data.drift_files:
        (out / "drift").mkdir(exist_ok=True)
        for path in data.drift_files:
            shutil.copy2(path, out / "drift" / path.name)
    return index


def build(
    root: str | Path = ".",
    out: str | Path = "site",
    drift_dir: str | Path | None = None,
    live_timeout: float | None = 2.0,
) -> Built:
    """Write the registry page for the repository at ``root`` into ``out``."""
    started = time.perf_counter()
    data = collect(root, drift_dir=drift_dir, live_timeout=live_timeout)
    mark = time.perf_counter()
    index = write(data, Path(out))
    data.seconds["render"] = time.perf_counter() - mark
    return Built(index, data, time.perf_counter() - started)
