"""Run the `run:` steps of a GitHub Actions job in order, on this machine, the way a runner would.

What it does, explicitly:
- Actions from elsewhere are never run (they need GitHub); each is recorded as skipped, with
  what stands in for it: checkout = the sandbox clone the caller made, setup-python = this
  interpreter's locked environment linked in (so `make setup` finds it synced, as a cache hit
  would), cache and upload-artifact = nothing, our setup-cml action = a recording `cml` script
  on PATH.
- With an artifact folder (``run_job(..., artifacts=DIR)``), upload-artifact copies its `path:`
  files to DIR/NAME (rooted at their least common ancestor, as GitHub stores them) and
  download-artifact copies DIR/NAME to its `path:`, so one job can hand files to the next.
- The repository's own composite actions (`uses: ./.github/actions/NAME`) are run: their `run:`
  steps in order, with `inputs.*` from the step's `with:` and the action's defaults.
- `run:` steps run with `bash --noprofile --norc -eo pipefail`, like GitHub's default shell, in
  the job's working directory, with the workflow's, job's and step's `env:` after `${{ }}`
  expansion from a context the caller gives and the outputs of the steps run so far (unknown
  expressions are an error; `secrets.*`/`vars.*`/`steps.*` not given are empty strings, as on
  GitHub). `$GITHUB_PATH`, `$GITHUB_ENV`, `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`,
  `$GITHUB_WORKSPACE` (the job's working directory) and `$RUNNER_TEMP` work.
- `if:` is evaluated for the forms the workflows use: `always()`, and `X == 'v'` / `X != 'v'`
  where X is `env.NAME`, `steps.ID.outputs.KEY` or a context key. Without `if:` a step runs
  only while no earlier step failed, as on GitHub; a failing step fails the job.
- Features it does not implement (`shell:` other than bash, `continue-on-error:`, matrices, other
  `if:` forms) make it refuse the workflow rather than run it differently from GitHub.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.preload import plugin

EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
CONDITION = re.compile(r"^(\S+)\s*(==|!=)\s*'([^']*)'$")
UNSUPPORTED = ("continue-on-error", "working-directory", "timeout-minutes")
LOCAL_ACTION = "./"
STAND_INS = {
    "actions/checkout": "the sandbox clone (full history) made by the test",
    "actions/setup-python": "this interpreter, with the locked .venv linked into the clone",
    "actions/cache": "nothing to cache on this machine",
    "actions/upload-artifact": "nothing to upload; the files stay in the clone",
    "actions/download-artifact": "nothing to download (no artifact folder given)",
    "./.github/actions/setup-cml": "a recording `cml` script on PATH",
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
    summary: str = ""  # what the steps wrote to $GITHUB_STEP_SUMMARY
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # step id -> its outputs

    @property
    def succeeded(self) -> bool:
        return all(s.returncode == 0 for s in self.steps if s.ran)

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
        if expr.startswith(("secrets.", "vars.", "steps.")):
            return ""  # an unset secret, variable or step output is an empty string on GitHub too
        raise KeyError(f"the harness has no value for ${{{{ {expr} }}}}; add it to the context")

    return EXPR.sub(value, str(text))


def _step_name(step: dict) -> str:
    return step.get("name") or step.get("uses") or step["run"].splitlines()[0]


def _refuse_unsupported(job: dict) -> None:
    if "strategy" in job or "container" in job or "services" in job:
        raise NotImplementedError("the harness runs plain jobs only (no matrix/container)")
    for step in job["steps"]:
        used = [k for k in UNSUPPORTED if k in step and "run" in step]
        if step.get("shell", "bash") != "bash":
            used.append(f"shell: {step['shell']}")
        if used:
            raise NotImplementedError(f"step {_step_name(step)!r} uses {used}: not emulated")


def _read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def _expand_map(mapping: dict | None, context: dict[str, str]) -> dict[str, str]:
    return {k: expand(v, context) for k, v in (mapping or {}).items()}


@dataclass
class _Runner:
    """One job's runner: its files, environment and the outputs of the steps so far."""

    cwd: Path
    context: dict[str, str]
    base_env: dict[str, str]
    files: Path
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    failed: bool = False
    artifacts: Path | None = None

    def file(self, name: str) -> Path:
        return self.files / name

    def condition(self, expr: str | None, env: dict[str, str]) -> bool:
        if expr is None:
            return not self.failed
        expr = EXPR.sub(lambda m: m.group(1), str(expr)).strip()
        if expr == "always()":
            return True
        match = CONDITION.match(expr)
        if not match:
            raise NotImplementedError(f"if: {expr!r} is not a form the harness evaluates")
        lhs, op, rhs = match.groups()
        if lhs.startswith("env."):
            value = env.get(lhs[4:], "")
        elif lhs.startswith("steps."):
            step_id, _, key = lhs[6:].partition(".outputs.")
            value = self.outputs.get(step_id, {}).get(key, "")
        else:
            value = expand("${{ " + lhs + " }}", self.context)
        return not self.failed and ((value == rhs) == (op == "=="))

    def env_for(self, step: dict, context: dict[str, str]) -> dict[str, str]:
        env = {**self.base_env, **_read_env_file(self.file("env"))}
        env.update(_expand_map(step.get("env"), context))
        extra = [line for line in self.file("path").read_text().splitlines() if line]
        env["PATH"] = os.pathsep.join([*reversed(extra), env["PATH"]])
        env.update(
            GITHUB_PATH=str(self.file("path")),
            GITHUB_ENV=str(self.file("env")),
            GITHUB_STEP_SUMMARY=str(self.file("summary")),
            RUNNER_TEMP=str(self.files),
            GITHUB_WORKSPACE=str(self.cwd),
        )
        return env

    def run_step(self, step: dict, context: dict[str, str], name: str) -> Step:
        env = self.env_for(step, context)
        output = self.file("output")
        output.write_text("")
        env["GITHUB_OUTPUT"] = str(output)
        script = self.file("step.sh")
        script.write_text(expand(step["run"], context))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.cwd,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        if "id" in step:
            self.outputs[step["id"]] = _read_env_file(output)
        self.failed = self.failed or proc.returncode != 0
        return Step(name, "run", True, proc.returncode, proc.stdout)

    def with_outputs(self, context: dict[str, str]) -> dict[str, str]:
        """``context`` plus ``steps.ID.outputs.KEY`` of the steps run so far."""
        outputs = {
            f"steps.{sid}.outputs.{key}": value
            for sid, values in self.outputs.items()
            for key, value in values.items()
        }
        return {**context, **outputs}

    def steps(self, steps: list[dict], context: dict[str, str], prefix: str = "") -> list[Step]:
        done = []
        for step in steps:
            context = self.with_outputs(context)
            name = prefix + _step_name(step)
            if not self.condition(step.get("if"), self.env_for(step, context)):
                why = "an earlier step failed" if self.failed else "its `if:` is false"
                kind = "run" if "run" in step else "uses"
                done.append(Step(name, kind, False, note=f"not run: {why}"))
            elif "run" in step:
                done.append(self.run_step(step, context, name))
            elif step["uses"].startswith(LOCAL_ACTION) and step["uses"] not in STAND_INS:
                done += self.composite(step, context, name)
            elif self.artifacts and step["uses"].split("@")[0].endswith("-artifact"):
                done.append(self.artifact(step, context, name))
            else:
                action = step["uses"].split("@")[0]
                done.append(Step(name, "uses", False, note=f"stand-in: {STAND_INS[action]}"))
        return done

    def artifact(self, step: dict, context: dict[str, str], name: str) -> Step:
        """upload-artifact / download-artifact through the artifact folder."""
        given = _expand_map(step.get("with"), context)
        store = self.artifacts / given.get("name", "artifact")
        if step["uses"].startswith("actions/download-artifact@"):
            if not store.is_dir():
                self.failed = True
                return Step(name, "uses", True, 1, f"no artifact {store.name!r} was uploaded")
            shutil.copytree(store, self.cwd / given.get("path", "."), dirs_exist_ok=True)
            return Step(name, "uses", False, note=f"stand-in: copied {store.name} from {store}")
        paths = [self.cwd / line for line in given["path"].splitlines() if line.strip()]
        found = [p for p in paths if p.exists()]
        if not found:
            return Step(name, "uses", False, note=f"stand-in: no files for {store.name}")
        root = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in found]))
        for path in found:
            target = store / path.relative_to(root)
            if path.is_dir():
                shutil.copytree(path, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        return Step(name, "uses", False, note=f"stand-in: copied to {store}")

    def composite(self, step: dict, context: dict[str, str], name: str) -> list[Step]:
        """Run one of the repository's own composite actions, as GitHub does."""
        path = self.cwd / step["uses"][len(LOCAL_ACTION) :] / "action.yml"
        action = yaml.safe_load(path.read_text())
        assert action["runs"]["using"] == "composite", f"{path}: not a composite action"
        _refuse_unsupported(action["runs"])
        given = _expand_map(step.get("with"), context)
        inputs = {}
        for key, spec in (action.get("inputs") or {}).items():
            default = expand(spec.get("default", ""), context)
            inputs[f"inputs.{key}"] = given.get(key, default)
        unknown = set(given) - {k.removeprefix("inputs.") for k in inputs}
        assert not unknown, f"{step['uses']}: no input(s) {sorted(unknown)} in {path}"
        return self.steps(action["runs"]["steps"], {**context, **inputs}, prefix=f"{name} / ")


def _runner(cwd: Path, context: dict[str, str], env: dict[str, str], *envs: dict | None):
    files = cwd.parent / f"runner-{cwd.name}"
    files.mkdir(exist_ok=True)
    for name in ("path", "env", "summary"):
        (files / name).touch()
    context = {"runner.temp": str(files), **context}
    base_env = {**os.environ, **env, "CI": "true", "GITHUB_ACTIONS": "true"}
    for mapping in envs:
        base_env.update(_expand_map(mapping, context))
    return _Runner(cwd, context, base_env, files)


def run_job(
    workflow: Path,
    job_id: str,
    cwd: Path,
    context: dict[str, str],
    env: dict[str, str] | None = None,
    artifacts: Path | None = None,
) -> Job:
    """Run ``job_id`` of ``workflow`` in ``cwd``; return every step's outcome. ``artifacts``: the
    folder upload-artifact and download-artifact share between jobs (none: both are skipped)."""
    flow = yaml.safe_load(workflow.read_text())
    job_def = flow["jobs"][job_id]
    _refuse_unsupported(job_def)
    runner = _runner(cwd, context, env or {}, flow.get("env"), job_def.get("env"))
    runner.artifacts = artifacts
    steps = runner.steps(job_def["steps"], runner.context)
    return Job(steps, runner.file("summary").read_text(), runner.outputs)


def run_action(
    uses: str,
    inputs: dict[str, str],
    cwd: Path,
    context: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Job:
    """Run one of the repository's own composite actions in ``cwd`` (a clone holding it), as
    the only step of a job, with ``inputs`` as its `with:`."""
    runner = _runner(cwd, context or {}, env or {})
    steps = runner.steps([{"uses": uses, "with": inputs}], runner.context)
    return Job(steps, runner.file("summary").read_text())


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


def _link_bin(real: Path, bin_dir: Path, shims: Path) -> None:
    """The venv's programs, `python` and `dvc` by the preload launcher's shims (tests.preload):
    the steps' `dvc repro`, and the stages it starts, as the suite's own go."""
    bin_dir.mkdir()
    for entry in real.iterdir():
        shim = shims / ("python" if re.fullmatch(r"python[\d.]*", entry.name) else entry.name)
        (bin_dir / entry.name).symlink_to(shim if shim.exists() else entry)


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
        elif entry.name == "bin" and plugin.shims() is not None:
            _link_bin(entry, clone / ".venv" / "bin", plugin.shims())
        elif entry.name != ".synced":
            (clone / ".venv" / entry.name).symlink_to(entry)
    uv = clone / ".tools" / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text(
        "#!/bin/sh\necho 'harness: uv must not run here (the env is linked)' >&2\nexit 3\n"
    )
    uv.chmod(0o755)
    (clone / ".venv" / ".synced").touch()
