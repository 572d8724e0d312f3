"""`mlops rollback ENV`: revert the latest commit that changed ENV, as a branch and one commit.

Only ENV's entry is restored (other environments a commit also changed are left alone); the
message is git's own revert message, so `git log` and `mlops audit` show it as a rollback.
"""

from __future__ import annotations

from pathlib import Path

from mlops import environments, models_file, paths
from mlops.errors import NotFoundError
from mlops.promotion import audit, gitops, promote


def rollback(
    root: str | Path = ".", env: str = "", message: str | None = None, push: bool = False
) -> gitops.Proposal:
    environments.load(env, root)  # an unknown environment is refused by name
    change = audit.latest_change(root, env, "HEAD")
    if change is None:
        raise NotFoundError(
            f"{env}: models.yaml has never changed it, so there is nothing to roll back"
        )
    text = models_file.with_deployment(
        (Path(root) / paths.MODELS_FILE).read_text(), env, change.before, change.model
    )
    subject = f'Revert "{change.subject}"'
    body = (
        f"This reverts commit {change.commit}.\n\n"
        f"rollback {env}: {change.to_text} → {change.from_text}"
        + (f"\n\n{message}" if message else "")
    )
    branch = f"rollback/{env}-{change.commit[:10]}"
    return promote.propose(root, env, text, subject, body, branch, push)
