"""Run the `run:` steps of a GitHub Actions job in order, on this machine, the way a runner would.

What it does, explicitly:
- `uses:` steps are never run (they need GitHub); each is recorded as skipped, with what stands
  in for it: checkout = the sandbox clone the caller made, setup-python = this interpreter's
  locked environment linked in (so `make setup` finds it synced, as a cache hit would),
  cache = nothing, setup-cml = a recording `cml` script on PATH.
- `run:` steps run with `bash --noprofile --norc -eo pipefail`, like GitHub's default shell, in
  the job's working directory, with the job's and step's `env:` after `${{ }}` expansion from a
  context the caller gives (unknown expressions are an error; `secrets.*`/`vars.*` not given
  are empty strings, as on GitHub). `$GITHUB_PATH`, `$GITHUB_ENV`, `$RUNNER_TEMP` work.
- A failing step stops the job (later steps are recorded as not run); the job fails.
- Features it does not implement (`if:`, `shell:`, `continue-on-error:`, matrices) make it
  refuse the workflow rather than run it differently from GitHub.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
UNSUPPORTED = ("if", "shell", "continue-on-error", "working-directory", "timeout-minutes")
STAND_INS = {
    "actions/checkout": "the sandbox clone on the PR branch (full history) made by the test",
    "actions/setup-python": "this interpreter, with the locked .venv linked into the clone",
    "actions/cache": "nothing to cache on this machine",
    "iterative/setup-cml": "a recording `cml` script on PATH",
    "actions/upload-pages-artifact": "nothing uploaded: the test reads the folder it names",
}


@dataclass
class Step:
    name: str
    kind: str  # "run" or "uses"
    ran: bool
    returncode: int | None = None
    output: str = ""
    note: str = ""


@dataclass
class Job:
    steps: list[Step] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return all(s.returncode == 0 for s in self.steps if s.kind == "run")

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def log(self) -> str:
        return "\n".join(
            f"--- {s.name} [{s.kind}, ran={s.ran}, rc={s.returncode}] {s.note}\n{s.output}"
            for s in self.steps
        )


def expand(text: str, context: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        expr = match.group(1)
        if expr in context:
            return str(context[expr])
        if expr.startswith(("secrets.", "vars.")):
            return ""  # an unset secret or variable is an empty string on GitHub too
        raise KeyError(f"the harness has no value for ${{{{ {expr} }}}}; add it to the context")

    return EXPR.sub(value, str(text))


def _step_name(step: dict) -> str:
    return step.get("name") or step.get("uses") or step["run"].splitlines()[0]


def _refuse_unsupported(job: dict) -> None:
    if "strategy" in job or "container" in job or "services" in job:
        raise NotImplementedError("the harness runs plain jobs only (no matrix/container)")
    for step in job["steps"]:
        used = [k for k in UNSUPPORTED if k in step and "run" in step]
        if used:
            raise NotImplementedError(f"step {_step_name(step)!r} uses {used}: not emulated")


def _read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def run_job(
    workflow: Path,
    job_id: str,
    cwd: Path,
    context: dict[str, str],
    env: dict[str, str] | None = None,
) -> Job:
    """Run ``job_id`` of ``workflow`` in ``cwd``; return every step's outcome."""
    job_def = yaml.safe_load(workflow.read_text())["jobs"][job_id]
    _refuse_unsupported(job_def)
    runner = cwd.parent / f"runner-{cwd.name}"
    runner.mkdir(exist_ok=True)
    github_path, github_env = runner / "path", runner / "env"
    github_path.touch()
    github_env.touch()
    base_env = {**os.environ, **(env or {}), "CI": "true", "GITHUB_ACTIONS": "true"}
    base_env.update({k: expand(v, context) for k, v in (job_def.get("env") or {}).items()})
    job, failed = Job(), False
    for step in job_def["steps"]:
        name = _step_name(step)
        if "uses" in step:
            action = step["uses"].split("@")[0]
            job.steps.append(Step(name, "uses", False, note=f"stand-in: {STAND_INS[action]}"))
            continue
        if failed:
            job.steps.append(Step(name, "run", False, note="not run: an earlier step failed"))
            continue
        step_env = {**base_env, **_read_env_file(github_env)}
        step_env.update({k: expand(v, context) for k, v in (step.get("env") or {}).items()})
        extra = [line for line in github_path.read_text().splitlines() if line]
        step_env["PATH"] = os.pathsep.join([*reversed(extra), step_env["PATH"]])
        step_env.update(
            GITHUB_PATH=str(github_path), GITHUB_ENV=str(github_env), RUNNER_TEMP=str(runner)
        )
        script = runner / "step.sh"
        script.write_text(expand(step["run"], context))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=step_env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        job.steps.append(Step(name, "run", True, proc.returncode, proc.stdout))
        failed = proc.returncode != 0
    return job


CML_STAND_IN = """#!{python}
# Stand-in for CML's `cml` (not installable here): records its arguments, the markdown it was
# handed and which images that markdown links (what --publish would upload), then succeeds.
import json, os, re, sys
from pathlib import Path

args = sys.argv[1:]
record = {{"argv": args, "cwd": os.getcwd(), "token_set": bool(os.environ.get("REPO_TOKEN"))}}
files = [a for a in args if not a.startswith("-") and Path(a).is_file()]
if files:
    md = Path(files[-1])
    text = md.read_text()
    links = re.findall(r"!\\[[^\\]]*\\]\\(([^)]+)\\)", text)
    record.update(markdown=text, images={{l: (md.parent / l).is_file() for l in links}})
with open(os.environ["CML_RECORD"], "a") as fh:
    fh.write(json.dumps(record) + "\\n")
"""


def install_cml_stand_in(bindir: Path) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    cml = bindir / "cml"
    cml.write_text(CML_STAND_IN.format(python=sys.executable))
    cml.chmod(0o755)
    return cml


def link_locked_env(clone: Path, venv: Path) -> None:
    """Give ``clone`` the locked environment already built from the same uv.lock, so the
    workflow's `make setup` finds it synced (as a warm cache would) and installs nothing.

    `.tools/bin/uv` is a stub that fails loudly: if make ever decided to re-sync, the step
    fails instead of touching the real environment.
    """
    (clone / ".venv").mkdir()
    for entry in venv.iterdir():
        if entry.name == ".gitignore":
            (clone / ".venv" / entry.name).write_text(entry.read_text())
        elif entry.name != ".synced":
            (clone / ".venv" / entry.name).symlink_to(entry)
    uv = clone / ".tools" / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text(
        "#!/bin/sh\necho 'harness: uv must not run here (the env is linked)' >&2\nexit 3\n"
    )
    uv.chmod(0o755)
    (clone / ".venv" / ".synced").touch()
