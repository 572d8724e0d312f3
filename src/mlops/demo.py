"""`make demo`: the main job, told as a story a newcomer can follow."""

from __future__ import annotations

from mlops import tools
from mlops.data.restore import restore


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def run() -> None:
    step("Restore the data that data.dvc pins (dvc pull, or regenerate and verify the md5)")
    print(f"data: {restore('.')}")
    step("Reproduce the pipeline: dvc repro (validate -> split -> train -> evaluate)")
    tools.dvc("repro", quiet=False)
    step("Holdout metrics (reports/metrics.json) and per-region slices")
    tools.dvc("metrics", "show", quiet=False)
