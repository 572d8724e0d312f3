"""The params.yaml reference: every key of `mlops.formats.params.SPEC`, its bounds and the stages
that read it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from page import HEADER, ROOT, code, table


def params_keys() -> list[tuple[str, tuple]]:
    from mlops.formats.params import SPEC

    def walk(spec: dict, prefix: str) -> Iterator[tuple[str, tuple]]:
        for key, sub in spec.items():
            if isinstance(sub, dict):
                yield from walk(sub, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", sub

    return list(walk(SPEC, ""))


def _readers() -> dict[str, list[str]]:
    """params key (or section) -> the dvc.yaml stages that list it."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    out: dict[str, list[str]] = {}
    for stage, spec in stages.items():
        for item in spec.get("params", []):
            if isinstance(item, str):
                out.setdefault(item, []).append(stage)
    return out


def _read_by(key: str, readers: dict[str, list[str]]) -> str:
    parts = key.split(".")
    stages = []
    for n in range(1, len(parts) + 1):
        stages += readers.get(".".join(parts[:n]), [])
    return ", ".join(sorted(set(stages))) or "a command (not a stage)"


def _kind(spec: tuple) -> str:
    from mlops.formats.params import AUTO_OR_FLOAT

    kind, low, high = spec
    if kind is str:
        return "one of " + ", ".join(code(v) for v in low)
    name = kind if kind == AUTO_OR_FLOAT else kind.__name__
    if low is None and high is None:
        return name
    return f"{name} in [{'-inf' if low is None else low}, {'inf' if high is None else high}]"


def _value(raw: dict, key: str) -> Any:
    for part in key.split("."):
        raw = raw.get(part, {}) if isinstance(raw, dict) else {}
    return raw


def params_page() -> str:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    readers = _readers()
    rows = [
        [code(key), _kind(spec), code(_value(raw, key)), _read_by(key, readers)]
        for key, spec in params_keys()
    ]
    return (
        HEADER.format(source="mlops.formats.params.SPEC, dvc.yaml and params.yaml")
        + "# params.yaml\n\n"
        + "One section per pipeline stage; `dvc.yaml` lists, per stage, the exact keys it reads, "
        "so changing one re-runs only the stages that depend on it. Every key is required; a "
        "missing or unknown key, or a value of the wrong type or out of range, is refused "
        "naming the file, the key and the value before any work starts. Bounds are inclusive. "
        "Change a value in a pull request: CI retrains and posts the metric diff.\n\n"
        + table(["key", "type", "template value", "read by"], rows)
        + "\nThe template's `params.yaml`, with its comments:\n\n"
        + f"```yaml\n{(ROOT / 'params.yaml').read_text().rstrip()}\n```\n"
    )
