"""card: write the model card (reports/model_card.md) from the pipeline's own outputs."""

from __future__ import annotations

from pathlib import Path

from mlops.core import paths
from mlops.model import card


def main() -> int:
    text = card.render(".")
    Path(paths.MODEL_CARD).parent.mkdir(parents=True, exist_ok=True)
    Path(paths.MODEL_CARD).write_text(text)
    print(f"card: wrote {paths.MODEL_CARD}")
    return 0


if __name__ == "__main__":
    from mlops.core.cli_support import run_stage

    run_stage(main)
