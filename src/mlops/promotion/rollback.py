"""`mlops rollback ENV`: undo the latest change to ENV on the base branch, as a branch and one
commit.

"Latest" is in first-parent order on the base branch (origin/main, else main): the order in
which changes went live, whatever their author dates or branch points. The commit restores
ENV's entry to the state the base branch had before that change (other environments are left
alone); its message is git's own revert message, so `git log` and `mlops audit` show it as a
rollback. Refused, with the reason, when that would not restore the previous state: the change
added ENV (reverting it would remove the environment), or this checkout's models.yaml is not
what the base branch says ENV serves now.
"""

from __future__ import annotations

from pathlib import Path

from mlops.core import paths
from mlops.core.errors import MlopsError, NotFoundError
from mlops.formats import environments, models_file
from mlops.promotion import audit, check, gitops, promote


class RollbackRefused(MlopsError):
    """The revert would not restore the previous state of the base branch."""


def _target(root: Path, env: str) -> tuple[audit.Change, str]:
    base = check.default_base(root)
    change = audit.latest_change(root, env, base)
    if change is None:
        raise NotFoundError(
            f"{env}: models.yaml on {base} has never changed it, so there is nothing to roll back"
        )
    if change.before is None:
        raise RollbackRefused(
            f"{env}: the latest change to it on {base} (commit {change.commit[:10]}, "
            f"{change.subject!r}) added it, so reverting it would remove {env} and its server "
            f"would have nothing to serve; promote the version you want instead "
            f"(`mlops promote {env} VERSION`)"
        )
    return change, base


def _require_current(root: Path, env: str, change: audit.Change, base: str) -> None:
    here = models_file.load(root / paths.MODELS_FILE).deployment(env, change.model)
    if here != change.after:
        raise RollbackRefused(
            f"{env}: {paths.MODELS_FILE} here has {audit.describe(here)}, but {base} serves "
            f"{change.to_text} since commit {change.commit[:10]}; reverting that change from "
            f"here would not restore {base}'s previous state ({change.from_text}). Switch to an "
            f"up-to-date {base.split('/')[-1]} (`git switch main && git pull`) and run it again"
        )


def rollback(
    root: str | Path = ".", env: str = "", message: str | None = None, push: bool = False
) -> gitops.Proposal:
    root = Path(root)
    environments.load(env, root)  # an unknown environment is refused by name
    change, base = _target(root, env)
    _require_current(root, env, change, base)
    text = models_file.with_deployment(
        (root / paths.MODELS_FILE).read_text(), env, change.before, change.model
    )
    subject = f'Revert "{change.subject}"'
    body = (
        f"This reverts commit {change.commit}.\n\n"
        f"rollback {env}: {change.to_text} → {change.from_text}"
        + (f"\n\n{message}" if message else "")
    )
    branch = f"rollback/{env}-{change.commit[:10]}"
    return promote.propose(root, env, text, subject, body, branch, push)
