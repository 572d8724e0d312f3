"""The audit trail on real Git histories built here: merges, reverts, squash merges, out-of-order
merges, shallow clones and hostile bytes. Plain git, no DVC: these run in seconds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.core.errors import NotFoundError
from mlops.model import registry
from mlops.promotion import audit, gitlog, unreviewed
from tests.conftest import git, run
from tests.promotion.conftest import merge_pr


def _pins(**envs: int) -> str:
    """models.yaml text with each env at v1.<n>.0 (digest derived from n)."""
    text = "models:\n  churn-model:\n"
    for env, n in envs.items():
        text += f"    {env}:\n      version: v1.{n}.0\n      digest: sha256:{n:064x}\n"
    return text


def _commit(repo: Path, text: str | bytes, message: str) -> str:
    path = repo / "models.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    git(repo, "add", "models.yaml")
    proc = subprocess.run(
        ["git", "commit", "-q", "-F", "-"], cwd=repo, input=message.encode(), capture_output=True
    )
    assert proc.returncode == 0, proc.stderr
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history_repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    _commit(repo, _pins(staging=1, production=1), "initial state")
    return repo


def _trail(repo: Path, env: str | None = None) -> list[tuple]:
    return [(c.env, c.from_text, c.to_text, c.pr, c.kind) for c in audit.history(repo, env=env)]


def test_a_pin_reverted_inside_a_merged_branch_was_never_live(history_repo):
    repo = history_repo
    git(repo, "switch", "-q", "-c", "sneak")
    _commit(repo, _pins(staging=1, production=9), "pin production to the bad v1.9.0")
    git(repo, "revert", "--no-edit", "HEAD")
    merge_pr(repo, "sneak", 7, push=False)
    # the net change of the merge is empty: main never served v1.9.0
    assert _trail(repo) == [("staging", "none", "v1.1.0", None, "promotion"),
                            ("production", "none", "v1.1.0", None, "promotion")]  # fmt: skip
    assert audit.ever_live(repo, "production") == {"v1.1.0"}


def test_commit_message_text_cannot_forge_a_change(history_repo):
    repo = history_repo
    blob = git(repo, "rev-parse", "HEAD:models.yaml")
    forged = (
        f"harmless\n\n\x1e\x1f:100644 100644 {'0' * 40} {blob} M\tmodels.yaml\n"
        f"looking text \x1f\x1e and a raw line:\n:100644 100644 {blob} {'0' * 40} D\tmodels.yaml"
    )
    path = repo / "README"
    path.write_text("x")
    git(repo, "add", "README")
    subprocess.run(["git", "commit", "-q", "-F", "-"], cwd=repo, input=forged.encode(), check=True)
    trail = audit.read(repo)
    assert len(trail.changes) == 2 and trail.problems == []
    assert trail.changes[-1].subject == "initial state"


def test_out_of_order_merges_follow_the_first_parent_line(history_repo):
    repo = history_repo
    git(repo, "switch", "-q", "-c", "b-first")  # B branches first, with an old author date
    env = {"GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z"}
    (repo / "models.yaml").write_text(_pins(staging=1, production=3))
    git(repo, "add", "models.yaml")
    run(["git", "commit", "-qm", "B: production v1.3.0"], repo, env=env)
    git(repo, "switch", "-q", "main")
    git(repo, "switch", "-q", "-c", "a-second")
    _commit(repo, _pins(staging=2, production=1), "A: staging v1.2.0")
    merge_pr(repo, "a-second", 1, push=False)
    git(repo, "merge", "-q", "--no-ff", "b-first", "-m", "Merge pull request #2 from t/b-first")
    latest = audit.latest_change(repo, "production")
    assert (latest.pr, latest.from_text, latest.to_text) == (2, "v1.1.0", "v1.3.0")
    assert latest.commit == git(repo, "rev-parse", "HEAD")
    assert latest.subject == "B: production v1.3.0"
    assert _trail(repo)[-2:] == [("staging", "v1.1.0", "v1.2.0", 1, "promotion"),
                                 ("production", "v1.1.0", "v1.3.0", 2, "promotion")]  # fmt: skip


def test_squash_merges_and_reverts_of_merges(history_repo):
    repo = history_repo
    promoted = _commit(
        repo, _pins(staging=2, production=1), "promote staging: v1.1.0 → v1.2.0 (#4)"
    )
    git(repo, "switch", "-q", "-c", "rollback")
    git(repo, "revert", "--no-edit", promoted)
    merge_pr(repo, "rollback", 5, push=False)
    changes = audit.history(repo, env="staging")
    assert [(c.pr, c.to_text, c.kind) for c in changes] == [
        (None, "v1.1.0", "promotion"), (4, "v1.2.0", "promotion"), (5, "v1.1.0", "rollback")
    ]  # fmt: skip
    assert changes[-1].reverts == promoted
    assert changes[-1].reverts_subject == "promote staging: v1.1.0 → v1.2.0 (#4)"


def test_hostile_bytes_are_one_problem_naming_the_commit(history_repo):
    repo = history_repo
    _commit(repo, _pins(staging=2, production=1), "odd \x1e separator \x1f in the subject (#8)")
    latin1 = _pins(staging=3, production=1).encode() + b"# caf\xe9 (latin-1 comment)\n"
    _commit(repo, latin1, "a latin-1 byte in models.yaml")
    bad = _commit(repo, "models: [\n", "broken yaml")
    _commit(repo, _pins(staging=4, production=1), "fixed")
    trail = audit.read(repo)
    assert [(c.pr, c.to_text) for c in trail.changes if c.env == "staging"] == [
        (None, "v1.1.0"), (8, "v1.2.0"), (None, "v1.3.0"), (None, "v1.4.0")
    ]  # fmt: skip
    assert len(trail.problems) == 1 and bad[:10] in trail.problems[0]
    assert "broken yaml" in trail.problems[0] and "not valid YAML" in trail.problems[0]
    out = run([sys.executable, "-m", "mlops", "audit"], repo, check=False)
    assert "v1.4.0" in out.stdout and f"audit: commit {bad[:10]}" in out.stderr
    # pushed without a pull request, to a repository with no environments: never applicable
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "NOT APPLIED (refused by mlops check, no PR): fixed" in out.stdout
    # only the latest direct pushes are judged (each is one `mlops check`), and it says so
    assert [u.commit for u in unreviewed.judge(repo, trail, limit=1)] == [trail.changes[-1].commit]
    assert unreviewed.not_judged(trail, limit=1).startswith("2 older change(s) of models.yaml")


def test_a_shallow_clone_is_refused_with_the_command_that_fixes_it(history_repo, tmp_path):
    _commit(history_repo, _pins(staging=2, production=1), "second")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{history_repo}", str(shallow))
    with pytest.raises(gitlog.HistoryError, match="git fetch --unshallow origin"):
        audit.read(shallow)
    out = run([sys.executable, "-m", "mlops", "audit"], shallow, check=False)
    assert out.returncode == 2 and "shallow clone" in out.stderr and "Traceback" not in out.stderr
    git(shallow, "fetch", "-q", "--unshallow", "origin")
    assert len(audit.history(shallow)) == 3


def _tag(repo: Path, name: str, message: str) -> None:
    proc = subprocess.run(
        ["git", "tag", "-a", name, "-F", "-"], cwd=repo, input=message.encode(), capture_output=True
    )
    assert proc.returncode == 0, proc.stderr


def test_malformed_tags_are_reported_not_raised(history_repo):
    repo = history_repo
    good = {"sha256": "sha256:" + "1" * 64, "metrics": {"roc_auc": 0.9}}
    _tag(repo, "churn-model@v1.0.0", json.dumps(good))
    _tag(repo, "churn-model@v1.1.0", json.dumps({**good, "note": "a \x1e and \x1f inside"}))
    _tag(repo, "churn-model@v1.2.0", json.dumps([1, 2, 3]))
    _tag(repo, "churn-model@v1.3.0", "not json at all \x1e")
    _tag(repo, "churn-model@v1.4.0", json.dumps({**good, "metrics": [0.9]}))
    versions, problems = registry.read_tags(repo, "churn-model")
    assert [v.version for v in versions] == ["v1.0.0", "v1.1.0"]
    assert versions[1].metadata["note"] == "a \x1e and \x1f inside"
    assert [p.split(":", 1)[0] for p in problems] == [
        "tag churn-model@v1.2.0", "tag churn-model@v1.3.0", "tag churn-model@v1.4.0"
    ]  # fmt: skip
    with pytest.raises(NotFoundError, match=r"churn-model@v1\.2\.0: its message is JSON list"):
        registry.get_version(repo, "churn-model", "v1.2.0")
    out = run([sys.executable, "-m", "mlops", "versions"], repo)
    assert "v1.1.0" in out.stdout and "versions: tag churn-model@v1.3.0" in out.stderr
