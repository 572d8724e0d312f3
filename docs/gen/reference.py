"""Write the reference pages of the documentation site from the code, so they never drift.

    python docs/gen/reference.py [OUT_DIR]      # default docs/reference/ (`make docs` runs it)

Every page is rebuilt from what the program itself reads or exposes (one module each, beside
this one; page.py holds what they share):

- cli.md (ref_cli.py): every command of the typer app (``mlops.cli.app``), walked through its
  click tree: usage, help, arguments and options as `--help` prints them;
- models-yaml.md (ref_models.py): every key of ``src/mlops/schemas/models.schema.json``;
- environments.md (ref_environments.py): every key ``mlops.formats.environments`` reads, its default
  and its meaning (the comments on the dataclass fields);
- contract.md (ref_contract.py): every key ``mlops.formats.contract`` accepts;
- params.md (ref_params.py): every key of ``mlops.formats.params.SPEC``, its type and bounds, the
  stages that read it (dvc.yaml) and the template's value (params.yaml);
- metrics.md (ref_metrics.py): every Prometheus metric ``mlops.serve.metrics`` defines.

A key the code reads with no description here stops the build, naming it: add the comment.
"""

from __future__ import annotations

import sys
from pathlib import Path

from page import ROOT
from ref_cli import cli_page
from ref_contract import contract_page
from ref_environments import environments_page
from ref_metrics import metrics_page
from ref_models import models_yaml_page
from ref_params import params_page

OUT = ROOT / "docs" / "reference"

PAGES = {
    "cli.md": cli_page,
    "models-yaml.md": models_yaml_page,
    "environments.md": environments_page,
    "contract.md": contract_page,
    "params.md": params_page,
    "metrics.md": metrics_page,
}


def main(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, page in PAGES.items():
        path = out / name
        path.write_text(page())
        written.append(path)
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(f"docs: wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
