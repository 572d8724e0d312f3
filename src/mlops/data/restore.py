"""Put the pinned data in the workspace: pull it from the DVC remote, or regenerate the bundled
sample and prove it is the same bytes that data.dvc pins."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mlops import params, paths, tools
from mlops.data.generate import generate
from mlops.data.schema import write_table
from mlops.errors import MlopsError

REMOTE_ENV = "MLOPS_DVC_REMOTE"
REMOTE_NAME = "storage"


class DataMismatchError(MlopsError):
    """The regenerated sample is not what data.dvc pins."""


def configure_remote(root: Path) -> None:
    """Point the default remote at ``$MLOPS_DVC_REMOTE`` (local config only) when it is set."""
    url = os.environ.get(REMOTE_ENV)
    if url:
        tools.dvc("remote", "modify", "--local", REMOTE_NAME, "url", url, cwd=root)


def in_sync(root: Path) -> bool:
    """True when data/ matches the md5 that data.dvc pins."""
    out = tools.dvc("status", paths.DATA_DVC, "--json", cwd=root).stdout
    return json.loads(out or "{}") == {}


def regenerate(root: Path) -> None:
    settings = params.section("data", root / params.PARAMS_FILE)
    write_table(generate(settings["rows"], settings["seed"]), root / paths.DATA)


def restore(root: str | Path = ".", log=print) -> str:
    """Return how the data arrived: "present", "pulled" or "regenerated"."""
    root = Path(root)
    configure_remote(root)
    if (root / paths.DATA).exists() and in_sync(root):
        return "present"
    if tools.dvc("pull", paths.DATA_DVC, cwd=root, check=False).returncode == 0 and in_sync(root):
        log(f"data: pulled {paths.DATA_DIR}/ from the DVC remote")
        return "pulled"
    log("data: the DVC remote does not hold data/ yet; regenerating the bundled sample")
    regenerate(root)
    if not in_sync(root):
        raise DataMismatchError(
            f"{paths.DATA} was regenerated from params.yaml `data` but does not match the md5 "
            f"pinned in {paths.DATA_DVC}. data.dvc points at data that only the team's DVC remote "
            f"holds: set {REMOTE_ENV} or run `dvc remote modify --local {REMOTE_NAME} url <URL>`, "
            "then `make demo` again"
        )
    tools.dvc("commit", "--force", paths.DATA_DVC, cwd=root)
    pushed = tools.dvc("push", paths.DATA_DVC, cwd=root, check=False).returncode == 0
    log(
        "data: regenerated sample matches data.dvc"
        + ("; pushed to the DVC remote" if pushed else "")
    )
    return "regenerated"
