"""What a security review of the workflows checks, as tests: every action pinned to a commit,
no credentials left in the workspace, no expression expanded inside a shell script, least
privilege per job, a pull request's code never next to a write token, no repository variable
run as a command, and a deploy no other workflow can cancel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.y*ml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
FILES = WORKFLOWS + ACTIONS
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s*#\s*v\d+(\.\d+)*\s*$")
SELF = "./"


def _uses_lines(path: Path) -> list[tuple[int, str, str]]:
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = USES.match(line)
        if match:
            out.append((number, match["ref"].strip("'\""), match["comment"]))
    return out


def _steps(doc: dict) -> list[dict]:
    if "runs" in doc:
        return doc["runs"].get("steps", [])
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def _unpinned(path: Path, root: Path = ROOT) -> list[str]:
    """Each `uses:` of ``path`` that is neither SHA-pinned with a version comment nor one of
    the repository's own actions (by the self-repository syntax, to a folder that exists)."""
    bad = []
    for number, ref, comment in _uses_lines(path):
        where = f"{path.relative_to(root)}:{number}: {ref}"
        if ref.startswith(SELF):
            if not (root / ref[len(SELF) :] / "action.yml").is_file():
                bad.append(f"{where} (no such action in this repository)")
        elif not PINNED.match(ref):
            bad.append(f"{where} (pin a full 40-character commit SHA)")
        elif not VERSION_COMMENT.match(comment):
            bad.append(f"{where} (add the version as a trailing comment: # vX.Y.Z)")
    return bad


def test_every_uses_is_pinned_to_a_commit_sha():
    assert [p for p in FILES if _uses_lines(p)], "no `uses:` found: is the scan broken?"
    bad = [line for path in FILES for line in _unpinned(path)]
    assert not bad, "actions by a movable reference:\n" + "\n".join(bad)


def test_the_pin_check_catches_tags_branches_short_shas_and_missing_comments(tmp_path):
    (tmp_path / ".github" / "actions" / "dvc-remote").mkdir(parents=True)
    (tmp_path / ".github" / "actions" / "dvc-remote" / "action.yml").write_text("name: x\n")
    flow = tmp_path / "flow.yml"
    flow.write_text(
        "jobs:\n  a:\n    steps:\n"
        "      - uses: actions/checkout@v7\n"
        "      - uses: actions/cache@main\n"
        "      - uses: actions/setup-python@5fda3b9\n"
        f"      - uses: actions/setup-node@{'8' * 40}\n"
        f"      - uses: actions/upload-artifact@{'b' * 40} # v7.0.0\n"
        "      - uses: ./.github/actions/no-such-action\n"
        "      - uses: ./.github/actions/dvc-remote\n"
    )
    bad = _unpinned(flow, root=tmp_path)
    assert [line.split(": ", 1)[1].split(" (")[0] for line in bad] == [
        "actions/checkout@v7",
        "actions/cache@main",
        "actions/setup-python@5fda3b9",
        f"actions/setup-node@{'8' * 40}",
        "./.github/actions/no-such-action",
    ]


def test_one_version_of_each_action_everywhere():
    seen: dict[str, set[str]] = {}
    for path in FILES:
        for _, ref, comment in _uses_lines(path):
            if not ref.startswith(SELF):
                name, sha = ref.split("@")
                seen.setdefault(name, set()).add(f"{sha} {comment.strip()}")
    assert {name: pins for name, pins in seen.items() if len(pins) > 1} == {}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(GITHUB)))
def test_no_checkout_persists_credentials(path):
    for step in _steps(yaml.safe_load(path.read_text())):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, step


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(GITHUB)))
def test_no_expression_is_expanded_inside_a_shell_script(path):
    scripts = [s["run"] for s in _steps(yaml.safe_load(path.read_text())) if "run" in s]
    assert [s for s in scripts if "${{" in s] == []  # pass values through `env:`


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_granted_per_job_only(path):
    flow = yaml.safe_load(path.read_text())
    assert flow["permissions"] == {}, "the workflow grants nothing; each job asks for its own"
    for name, job in flow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {name} declares no permissions"
        assert "write-all" not in str(job["permissions"])


def test_only_jobs_that_push_may_write_contents():
    writers = {
        (path.name, name)
        for path in WORKFLOWS
        for name, job in yaml.safe_load(path.read_text())["jobs"].items()
        if job["permissions"].get("contents") == "write"
    }
    assert writers == {
        ("train.yml", "publish"),  # commits dvc.lock and reports back to the PR branch
        ("register.yml", "register"),  # pushes the version tag
        ("deploy.yml", "register"),  # the same, when a merge also retrained
        ("monitor.yml", "canary"),  # pushes the rollback branch
        ("retrain.yml", "refresh"),  # pushes the retrain branch with the refreshed data.dvc
    }


def test_pushes_and_fetches_get_the_token_in_their_own_step_only():
    for path in FILES:
        for step in _steps(yaml.safe_load(path.read_text())):
            run = step.get("run", "")
            if re.search(r"\bgit (push|fetch)\b|mlops (register|deploy|canary)\b", run):
                assert "with-git-token" in run, (path.name, step.get("name"))
                assert "GIT_TOKEN" in step.get("env", {}), (path.name, step.get("name"))


def _concurrency_groups(path: Path) -> dict[str, str | None]:
    flow = yaml.safe_load(path.read_text())
    top = (flow.get("concurrency") or {}).get("group")
    return {
        name: (job.get("concurrency") or {}).get("group", top) for name, job in flow["jobs"].items()
    }


def test_no_other_workflow_can_cancel_a_deploy():
    deploy = _concurrency_groups(GITHUB / "workflows" / "deploy.yml")
    # a pending job in a group is replaced by the next pending one: deploy's register job must
    # be in no group, and no other workflow may use a deploy group
    assert deploy["register"] is None
    assert deploy["deploy"] == "deploy-${{ matrix.env }}"
    others = {
        group
        for path in WORKFLOWS
        if path.name != "deploy.yml"
        for group in _concurrency_groups(path).values()
        if group
    }
    assert not any(group.startswith("deploy") for group in others), others
    flow = yaml.safe_load((GITHUB / "workflows" / "deploy.yml").read_text())
    assert flow["jobs"]["deploy"]["concurrency"]["cancel-in-progress"] is False


def test_every_job_touching_the_dvc_remote_uses_the_one_credentials_action():
    for path in WORKFLOWS:
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            steps = job["steps"]
            runs = "\n".join(s.get("run", "") for s in steps)
            touches = re.search(r"\b(dvc|mlops (data|report|check|register|deploy|drift))\b", runs)
            touches = touches or any("actions/register" in s.get("uses", "") for s in steps)
            uses = [s.get("uses") for s in steps]
            assert bool(touches) == ("./.github/actions/dvc-remote" in uses), (path.name, name)
            assert "AWS_ACCESS_KEY_ID" not in str(job.get("env", {})), (path.name, name)


def test_dependabot_keeps_actions_and_the_uv_lock_current():
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert {"github-actions", "uv"} <= set(updates)
    for update in updates.values():
        assert update["schedule"]["interval"] == "weekly"
        assert update.get("groups"), update["package-ecosystem"]
    directories = set(updates["github-actions"]["directories"])
    assert {"/", "/.github/actions/*"} <= directories  # workflows and our composite actions


def test_codeowners_own_the_desired_state_and_its_policy():
    owned = {
        line.split()[0]
        for line in (GITHUB / "CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#") and len(line.split()) > 1
    }
    assert {"/models.yaml", "/environments/", "/deploy/"} <= owned


# what runs a pull request's own code: its Makefile, its package, its pipeline, its scripts
PR_CODE = re.compile(r"\b(make|python|mlops|dvc|pip|uv|npm run)\b|\.venv/|(^|\s)\./(?!\.github)")
BASE_CHECKOUT = "${{ github.event.pull_request.base.sha }}"


def _pull_request_jobs():
    for path in WORKFLOWS:
        flow = yaml.safe_load(path.read_text())
        if {"pull_request", "pull_request_target"} & set(flow[True]):
            yield from ((path.name, name, job) for name, job in flow["jobs"].items())


def _writes(job: dict) -> bool:
    return "write" in job["permissions"].values()


def test_pull_request_code_never_runs_in_a_job_holding_a_write_token():
    writers = [(wf, name) for wf, name, job in _pull_request_jobs() if _writes(job)]
    assert writers == [("promote.yml", "comment"), ("train.yml", "publish")]
    for wf, name, job in _pull_request_jobs():
        if not _writes(job):
            continue
        checkout, *rest = job["steps"]
        # the base commit, never the PR's (the default checkout of a pull_request event)
        assert checkout["uses"].startswith("actions/checkout@"), (wf, name)
        assert checkout["with"]["ref"] == BASE_CHECKOUT, (wf, name)
        for step in rest:
            assert not PR_CODE.search(step.get("run", "")), (wf, name, step.get("run"))
            uses = step.get("uses", "")
            assert not uses.startswith("./") or uses == "./.github/actions/setup-cml", uses


def test_the_pr_code_check_sees_what_it_must():
    for script in ("make setup", "dvc repro", ".venv/bin/mlops check", "./run.sh", "python x.py"):
        assert PR_CODE.search(script), script
    for script in (".github/scripts/commit-results a b c", 'cml comment update "$PLAN"'):
        assert not PR_CODE.search(script), script


def _variables_in_env(*mappings: dict | None) -> set[str]:
    return {k for m in mappings for k, v in (m or {}).items() if "vars." in str(v)}


def _runs_as_command(script: str, name: str) -> bool:
    var = rf"\$(\{{{name}\}}|{name}\b)"  # not ${NAME:+...}: a conditional argument
    return bool(
        re.search(rf"\b(eval|bash|sh|zsh)\b[^\n]*{var}", script)
        or re.search(rf"^\s*\"?{var}", script, re.MULTILINE)
        or re.search(rf"\$\(\s*\"?{var}", script)
    )


def test_no_repository_variable_is_run_as_a_command():
    assert _runs_as_command('bash -c "$MLOPS_FETCH_LOGS"', "MLOPS_FETCH_LOGS")
    assert _runs_as_command('echo ok\n"$X" --flag', "X") and _runs_as_command("eval $X", "X")
    assert _runs_as_command('out=$("$X")', "X") and _runs_as_command("bash -c ${X}", "X")
    assert not _runs_as_command('dvc get-url --force remote://logs/ "$X"', "X")
    assert not _runs_as_command('cmd \\\n  ${X:+--url "$X"}', "X")
    for path in FILES:
        doc = yaml.safe_load(path.read_text())
        jobs = doc.get("jobs", {"action": {"steps": _steps(doc)}})
        for job in jobs.values():
            for step in job.get("steps", []):
                names = _variables_in_env(doc.get("env"), job.get("env"), step.get("env"))
                script = step.get("run", "")
                assert "vars." not in script, (path.name, step.get("name"))
                bad = [n for n in names if _runs_as_command(script, n)]
                assert not bad, (path.name, step.get("name"), bad)


def test_local_actions_are_used_after_a_checkout_by_a_relative_path():
    for path in WORKFLOWS:
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            checked_out = False
            for step in job.get("steps", []):
                uses = step.get("uses", "")
                assert not uses.startswith("$/"), (path.name, name, uses)
                if uses.startswith("./"):
                    assert checked_out, f"{path.name} {name}: {uses} before actions/checkout"
                    assert (ROOT / uses / "action.yml").is_file(), uses
                checked_out = checked_out or uses.startswith("actions/checkout@")


def _promote_check_steps() -> list[dict]:
    flow = yaml.safe_load((GITHUB / "workflows" / "promote.yml").read_text())
    return flow["jobs"]["check"]["steps"]


def test_the_promotion_check_runs_the_base_commits_code_on_the_prs_state():
    """The gating check is the base commit's code; the PR's checkout is only read (models.yaml,
    environments/, contract.yaml): a PR that edits the check cannot make its own check pass."""
    steps = _promote_check_steps()
    aside = next(i for i, s in enumerate(steps) if "git worktree add" in s.get("run", ""))
    # before it, only the checkout of the PR; nothing of the PR runs
    assert [s["uses"].split("@")[0] for s in steps[:aside]] == ["actions/checkout"]
    script = steps[aside]["run"]
    assert steps[aside]["env"]["BASE_SHA"] == BASE_CHECKOUT
    assert script.index("git worktree add") < script.index('git checkout -q --detach "$BASE_SHA"')
    assert "PR_DIR=" in script
    later = steps[aside + 1 :]
    # `make setup`, the DVC action and `mlops` are the workspace's: the base commit's
    assert any(s.get("run", "").strip().startswith("make setup") for s in later)
    assert any(s.get("uses", "") == "./.github/actions/dvc-remote" for s in later)
    check = next(s for s in later if s.get("id") == "check")["run"]
    assert '(cd "$PR_DIR" && mlops check ' in check
    for step in later:
        for line in step.get("run", "").splitlines():
            # the PR's folder is entered only to be read by the base's `mlops`
            runs_pr = re.search(r"\$PR_DIR/(?!\.dvc/config\.local)", line) or re.search(
                r"-C \"?\$PR_DIR", line
            )
            assert not runs_pr, line


def test_the_promotion_replay_reads_the_logs_url_when_set():
    steps = _promote_check_steps()
    action = next(s for s in steps if s.get("uses") == "./.github/actions/dvc-remote")
    assert action["with"]["logs-url"] == "${{ vars.MLOPS_LOGS_URL }}"
    fetch = next(s for s in steps if "remote://logs/" in s.get("run", ""))
    assert fetch["if"] == "env.MLOPS_LOGS_URL != ''"
    assert '"$RUNNER_TEMP/prediction-logs"' in fetch["run"]
    check = next(s for s in steps if s.get("id") == "check")["run"]
    assert '--log-dir "$RUNNER_TEMP/prediction-logs"' in check
