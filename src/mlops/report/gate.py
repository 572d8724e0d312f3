"""`mlops gate`: the workspace's results against each environment's gates, as a table."""

from __future__ import annotations

from pathlib import Path

from mlops.core import paths
from mlops.core.errors import ConfigError
from mlops.formats import environments
from mlops.quality import champion, gates
from mlops.quality.gates import compared_with
from mlops.report.cells import fmt_num, gate_mark, gate_threshold


def check_workspace(root: str | Path = ".", envs: list[str] | None = None) -> list[gates.Verdict]:
    root = Path(root)
    for path in (paths.METRICS, paths.SLICES, paths.SERVING):
        if not (root / path).is_file():
            raise ConfigError(path, "", "not in the workspace", hint="run `dvc repro` first")
    candidate = gates.Results.from_workspace(root)
    names = envs or environments.names(root)
    scorer = champion.Scorer.for_workspace(root)  # the same comparison as the PR report
    return [gates.verdict(root, name, candidate, scorer=scorer) for name in names]


def render_failures(verdicts: list[gates.Verdict]) -> str:
    """One line per environment; a table of the failed gates under each that failed."""
    lines = []
    for v in verdicts:
        compared = compared_with(v.live).replace("`", "")
        live = f"live {v.live.version}; {compared}" if v.live.results else v.live.note
        dry = [f"{g.gate} {g.metric} {fmt_num(g.value)}" for g in v.would_block()]
        if dry:
            live += f"; would block in dry run: {', '.join(dry)}"
        if v.passed:
            lines.append(f"{v.env}: PASS ({len(v.gates)} gates; {live})")
            continue
        lines.append(f"{v.env}: FAIL ({len(v.failures())} of {len(v.gates)} gates; {live})")
        rows = [
            (g.gate, g.metric, fmt_num(g.value), gate_threshold(g), gate_mark(g), g.detail)
            for g in v.failures()
        ]
        header = ("gate", "metric", "value", "threshold", "result", "detail")
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
        for row in (header, *rows):
            lines.append(
                "  " + "  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
            )
    return "\n".join(lines)
