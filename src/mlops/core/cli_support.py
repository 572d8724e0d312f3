"""Turn user mistakes into one clear line and an exit code, for the CLI and the stages."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mlops.core.errors import MlopsError


def run_stage(main: Callable[[], int]) -> None:
    try:
        code = main()
    except MlopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = exc.exit_code
    sys.exit(code)
