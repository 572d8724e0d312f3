"""`make demo`: the main job, told as a story a newcomer can follow."""

from __future__ import annotations

from mlops import paths, tools
from mlops.data.restore import restore
from mlops.io_utils import read_json


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def metrics_table(root: str = ".") -> str:
    """Holdout metrics and the per-region roc_auc as a small text table."""
    metrics = read_json(f"{root}/{paths.METRICS}")
    slices = read_json(f"{root}/{paths.SLICES}")["slices"]
    lines = [f"  {name:<18} {value:>8.4f}" for name, value in metrics.items()]
    lines.append(
        "  roc_auc by region: "
        + ", ".join(f"{region} {s['roc_auc']:.3f}" for region, s in slices.items())
    )
    return "\n".join(lines)


def run() -> None:
    step("Restore the data that data.dvc pins (dvc pull, or regenerate and verify the md5)")
    print(f"data: {restore('.')}")
    step("Reproduce the pipeline: dvc repro (validate -> split -> train -> evaluate)")
    tools.dvc("repro", quiet=False)
    step(f"Holdout metrics ({paths.METRICS}, {paths.SLICES})")
    print(metrics_table())
