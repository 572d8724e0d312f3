"""Put the pinned data in the workspace: pull it from the DVC remote, or regenerate the bundled
sample and prove it is the same bytes that data.dvc pins."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

from mlops.core import paths, tools
from mlops.core.errors import MlopsError
from mlops.data import sample
from mlops.formats import params
from mlops.formats.contract import load_contract

REMOTE_ENV = "MLOPS_DVC_REMOTE"
REMOTE_NAME = "storage"


class DataMismatchError(MlopsError):
    """The regenerated sample is not what data.dvc pins."""


class AdoptedDataMissingError(MlopsError):
    """data.dvc pins an adopted table that the DVC remote does not hold (nothing regenerates it)."""


def configure_remote(root: Path) -> None:
    """Point the default remote at ``$MLOPS_DVC_REMOTE`` (local config only) when it is set."""
    url = os.environ.get(REMOTE_ENV)
    if url:
        tools.dvc("remote", "modify", "--local", REMOTE_NAME, "url", url, cwd=root)


def pinned_md5(root: Path) -> str:
    """The md5 that data.dvc pins for data/ (a DVC directory hash, ``<md5>.dir``)."""
    return yaml.safe_load((root / paths.DATA_DVC).read_text())["outs"][0]["md5"]


def workspace_md5(root: Path) -> str:
    """DVC's directory hash of data/ as it is on disk, computed the way DVC computes it."""
    from dvc_data.hashfile.tree import Tree

    folder = root / paths.DATA_DIR
    entries = [
        {
            "md5": hashlib.md5(p.read_bytes()).hexdigest(),
            "relpath": p.relative_to(folder).as_posix(),
        }
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]
    tree = Tree.from_list(entries)
    tree.digest()
    return tree.hash_info.value


def in_sync(root: Path) -> bool:
    """True when data/ holds exactly the bytes data.dvc pins."""
    return (root / paths.DATA_DIR).is_dir() and workspace_md5(root) == pinned_md5(root)


def regenerate(root: Path) -> None:
    settings = params.section("sample", root / params.PARAMS_FILE)
    sample.write(root / load_contract(root).data, settings["rows"], settings["seed"])


def restore(root: str | Path = ".", log=print) -> str:
    """Return how the data arrived: "present", "pulled" or "regenerated"."""
    root = Path(root)
    configure_remote(root)
    data = load_contract(root).data
    if (root / data).exists() and in_sync(root):
        return "present"
    if tools.dvc("pull", paths.DATA_DVC, cwd=root, check=False).returncode == 0 and in_sync(root):
        log(f"data: pulled {paths.DATA_DIR}/ from the DVC remote")
        return "pulled"
    if load_contract(root) != sample.contract():
        raise AdoptedDataMissingError(
            f"{data}: the DVC remote `{REMOTE_NAME}` does not hold the table {paths.DATA_DVC} "
            "pins, and only the bundled sample can be regenerated. An adopted table lives in "
            "the team's DVC remote: where the table is, run `dvc push` with the remote pointed "
            f"at shared storage (`dvc remote modify {REMOTE_NAME} url s3://...`, committed); "
            f"here, set {REMOTE_ENV} or `dvc remote modify --local {REMOTE_NAME} url <URL>`"
        )
    log("data: the DVC remote does not hold data/ yet; regenerating the bundled sample")
    regenerate(root)
    if not in_sync(root):
        raise DataMismatchError(
            f"{data} was regenerated from params.yaml `sample` but its md5 "
            f"{workspace_md5(root)} does not match the md5 pinned in {paths.DATA_DVC} "
            f"({pinned_md5(root)}). data.dvc points at data that only the team's DVC remote "
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
