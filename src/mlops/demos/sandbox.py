"""The GitOps loop in a sandbox, for `make demo` and the end-to-end tests.

A sandbox is a folder holding a bare Git repository as ``origin``, a local directory as the DVC
remote, the developer's clone (``work``), and one clone per environment where ``mlops serve``
runs. Every step runs the same ``mlops``, ``git`` and ``dvc`` commands a team runs, printed as
it goes, so the demo reads as a story:

    sb = sandbox.create(".", "sandbox")
    sandbox.retrain(sb, "retrain-1", {"train.seed": 7}, "retrain: another seed")
    ...
``mlops.demos.loop`` tells the whole loop with these steps.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.core import paths, tools
from mlops.demos import inprocess
from mlops.formats import environments
from mlops.promotion.target import TOKEN_ENV

Log = Callable[[str], None]


@dataclass
class Sandbox:
    root: Path
    log: Log = print
    servers: dict[str, Any] = field(default_factory=dict)
    prs: int = 0

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def dvc_remote(self) -> Path:
        return self.root / "dvc-remote"

    @property
    def work(self) -> Path:
        return self.root / "work"

    def server_clone(self, env: str) -> Path:
        return self.root / "servers" / env


_steps = itertools.count(1)


def step(log: Log, text: str) -> None:
    """A numbered step of the story (numbering starts again with each sandbox)."""
    log(f"\n==> {next(_steps)}. {text}")


def sh(
    sb: Sandbox, *args: str, cwd: Path | None = None, show: bool = True, codes: tuple = (0,)
) -> str:
    """Run a command in the sandbox, print it and what it printed; raise on an exit code not
    in ``codes`` (e.g. (0, 1) for a check whose finding is part of the story)."""
    cwd = cwd or sb.work
    if show:
        sb.log(f"$ {shlex.join(args)}")
    proc = _run(list(args), cwd)
    output = (proc.stdout + proc.stderr).rstrip()
    if show and output:
        sb.log(output)
    if proc.returncode not in codes:
        raise tools.ToolError(
            f"`{shlex.join(args)}` failed (exit {proc.returncode}) in {cwd}: {output[-2000:]}"
        )
    return proc.stdout.strip()


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`mlops` commands run in this interpreter (the same code, without importing the model
    stack again for each); servers, `dvc` and the rest as subprocesses."""
    if args[0] == "mlops" and inprocess.runs_in_process(args[1:]):
        return inprocess.run(args[1:], cwd)
    command = [sys.executable, "-m", *args] if args[0] in ("mlops", "dvc") else args
    return tools.run(command, cwd=cwd, check=False)


def copy_template(template: str | Path, dest: str | Path) -> Path:
    """Copy the files Git tracks in ``template`` (what a team clones) into ``dest``."""
    template, dest = Path(template), Path(dest)
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=template, capture_output=True, check=True
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (template / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(template / name, dest / name)
    return dest


def create(
    template: str | Path = ".",
    where: str | Path = "sandbox",
    rows: int | None = None,
    log: Log = print,
    gates: dict[str, Any] | None = None,
) -> Sandbox:
    """A fresh sandbox: the template committed and pushed to a bare origin, its data in a local
    DVC remote. ``rows``: the bundled sample instead of the template's table, that many rows
    (quicker retrains, lower metrics);
    ``gates`` replaces keys of every environment's ``gates`` (e.g. a latency budget for a busy
    laptop), said out loud in the story."""
    global _steps
    _steps = itertools.count(1)
    template, root = Path(template).resolve(), Path(where).resolve()
    shutil.rmtree(root, ignore_errors=True)
    sb = Sandbox(root, log)
    sb.work.mkdir(parents=True)
    step(
        log,
        f"Sandbox in {root}: origin.git (bare Git remote), "
        "dvc-remote/ (DVC remote), work/ (your clone)",
    )
    copy_template(template, sb.work)
    sh(sb, "git", "init", "-q", "--bare", "-b", "main", str(sb.origin), show=False)
    sh(sb, "git", "init", "-q", "-b", "main", show=False)
    for key, value in (("user.name", "Dana Developer"), ("user.email", "dana@example.com")):
        sh(sb, "git", "config", key, value, show=False)
    sh(sb, "git", "remote", "add", "origin", str(sb.origin), show=False)
    sh(sb, "dvc", "remote", "modify", "--local", "storage", "url", str(sb.dvc_remote))
    if rows:
        sh(sb, "mlops", "data", "sample", "--rows", str(rows))
    else:
        shutil.copytree(template / paths.DATA_DIR, sb.work / paths.DATA_DIR, dirs_exist_ok=True)
        sh(sb, "dvc", "commit", "--force", paths.DATA_DVC, show=False)
    sh(sb, "dvc", "push", paths.DATA_DVC)
    _serve_on_free_ports(sb)
    if gates:
        _override_gates(sb, gates)
    sh(sb, "git", "add", "-A", show=False)
    sh(sb, "git", "commit", "-qm", "Start from the template", show=False)
    sh(sb, "git", "push", "-q", "-u", "origin", "main")
    return sb


def _serve_on_free_ports(sb: Sandbox) -> None:
    """Point each environment's serving.url at a free local port (comments kept)."""
    from mlops.serve.launcher import free_port

    for env in environments.names(sb.work):
        path = sb.work / paths.ENVIRONMENTS / f"{env}.yaml"
        url = environments.load(env, sb.work).serving.url
        path.write_text(path.read_text().replace(url, f"http://127.0.0.1:{free_port()}"))


def _override_gates(sb: Sandbox, gates: dict[str, Any]) -> None:
    from ruamel.yaml import YAML

    y = YAML()
    for env in environments.names(sb.work):
        path = sb.work / paths.ENVIRONMENTS / f"{env}.yaml"
        doc = y.load(path.read_text())
        doc["gates"].update(gates)
        with open(path, "w") as handle:
            y.dump(doc, handle)
    sb.log(f"sandbox: every environment's gates use {gates} (instead of the template's)")


def _set_params(work: Path, changes: dict[str, Any]) -> None:
    from ruamel.yaml import YAML

    y = YAML()
    doc = y.load((work / "params.yaml").read_text())
    for dotted, value in changes.items():
        *sections, key = dotted.split(".")
        node = doc
        for section in sections:
            node = node[section]
        node[key] = value
    with open(work / "params.yaml", "w") as handle:
        y.dump(doc, handle)


def retrain(sb: Sandbox, branch: str, params: dict[str, Any], message: str) -> None:
    """On a branch: change params, reproduce the pipeline, push artifacts to DVC, commit."""
    step(sb.log, f"Retrain on branch {branch}: {', '.join(f'{k}={v}' for k, v in params.items())}")
    sh(sb, "git", "switch", "-q", "-c", branch)
    _set_params(sb.work, params)
    sh(sb, "dvc", "repro")
    sh(sb, "dvc", "push")
    sh(sb, "git", "add", "-A", show=False)
    sh(sb, "git", "commit", "-qm", message)


def merge(sb: Sandbox, branch: str) -> int:
    """Merge a branch as GitHub's merge button does ("Merge pull request #N"), push main."""
    sb.prs += 1
    step(sb.log, f"Merge pull request #{sb.prs} ({branch}) into main and push")
    sh(sb, "git", "switch", "-q", "main")
    sh(
        sb,
        "git",
        "merge",
        "-q",
        "--no-ff",
        branch,
        "-m",
        f"Merge pull request #{sb.prs} from sandbox/{branch}",
    )
    sh(sb, "git", "push", "-q", "origin", "main")
    return sb.prs


def register(sb: Sandbox) -> str:
    step(sb.log, "register.yml on main: tag the model if it is new")
    return sh(sb, "mlops", "register", "--push")


def promote(
    sb: Sandbox,
    env: str,
    version: str,
    canary: int | None = None,
    message: str | None = None,
    shadow: int | None = None,
) -> str:
    """`mlops promote` then the PR check; returns the branch."""
    extra = [
        *(["--canary", str(canary)] if canary else []),
        *(["--shadow", str(shadow)] if shadow else []),
        *(["--message", message] if message else []),
    ]
    role = f" as a {canary}% canary" if canary else ""
    role += f" as a shadow on {shadow}% of requests (it answers nobody)" if shadow else ""
    step(sb.log, f"Promote {version} to {env}{role}")
    sh(sb, "mlops", "promote", env, version, *extra)
    branch = sh(sb, "git", "branch", "--show-current", show=False)
    check(sb)
    return branch


def rollback(sb: Sandbox, env: str) -> str:
    step(sb.log, f"Roll back {env}: revert the latest change of {env}")
    sh(sb, "mlops", "rollback", env)
    branch = sh(sb, "git", "branch", "--show-current", show=False)
    check(sb)
    return branch


def check(sb: Sandbox, *extra: str) -> str:
    step(sb.log, "promote.yml on the pull request: mlops check posts the promotion plan")
    return sh(sb, "mlops", "check", "--base", "origin/main", *extra)


def start_servers(sb: Sandbox, workers: int = 1) -> None:
    """One `mlops serve` per environment, each in its own clone of origin reading origin/main."""
    from mlops.serve import launcher

    os.environ.setdefault(TOKEN_ENV, secrets.token_hex(16))
    for env, config in environments.load_all(sb.work).items():
        clone = sb.server_clone(env)
        step(sb.log, f"Start the {env} server ({config.serving.url}) in {clone}")
        shutil.rmtree(clone, ignore_errors=True)
        sh(sb, "git", "clone", "-q", str(sb.origin), str(clone), cwd=sb.root)
        sh(
            sb,
            "dvc",
            "remote",
            "modify",
            "--local",
            "storage",
            "url",
            str(sb.dvc_remote),
            cwd=clone,
            show=False,
        )
        port = int(config.serving.url.rsplit(":", 1)[1])
        sb.servers[env] = launcher.start(
            clone, env, port, token=os.environ[TOKEN_ENV], workers=workers, sync_interval=3600,
            wait=False,
        )  # fmt: skip
    for server in sb.servers.values():  # started side by side: each loads its models meanwhile
        server.wait_started()


def stop_servers(sb: Sandbox) -> None:
    for server in sb.servers.values():
        server.stop()
    sb.servers.clear()


def deploy(sb: Sandbox) -> str:
    step(sb.log, "deploy.yml on main: reconcile every environment to models.yaml at HEAD")
    return sh(sb, "mlops", "deploy", "--wait", "180")


def audit(sb: Sandbox) -> str:
    step(sb.log, "The audit trail: every change of models.yaml, from git log")
    return sh(sb, "mlops", "audit")


def status(sb: Sandbox) -> str:
    step(sb.log, "Desired (Git) against live (each server's /version)")
    return sh(sb, "mlops", "status")
