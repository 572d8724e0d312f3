"""A server applies only a desired state that passed the policy.

Servers follow a ref (``origin/main``) on their own, so a push straight to main would reach
them without a pull request, `mlops check` or the environment's approval. Before the
controller swaps in a new deployment for its environment, it runs the same check as
`mlops check` and `mlops deploy` (``check.evaluate``: registrations, digests, provenance,
measured gates, promotion order, canary limits, policy judged from the base) on models.yaml at
the new commit, against the state it applied last. A refusal keeps the applied state serving,
and ``/version`` says ``Degraded`` with every failure. `mlops deploy` judges the same commit
against the same base (the commit the server reports), so both give one verdict.

The last approved commit is kept in the clone (``.mlops/serve/<env>.approved``), so a
restarted server is judged against it too; a server with no record yet judges the commit
against its first parent (the state before the latest change of main).
"""

from __future__ import annotations

from pathlib import Path

from mlops.core import paths, tools
from mlops.core.errors import MlopsError
from mlops.serve.settings import STATE_DIR


class PolicyRefused(MlopsError):
    """The desired state at the ref fails `mlops check` against the applied state."""


class Approval:
    def __init__(self, root: str | Path, env: str):
        self.root = Path(root)
        self.env = env
        self.record = self.root / STATE_DIR / "serve" / f"{env}.approved"
        # (base, commit, generation) -> failures: a poll reuses the verdict; a sync request
        # (`mlops deploy`, POST /-/sync) judges again, as the DVC remote may hold more by then
        self._verdicts: dict[tuple[str, str, int], list[str]] = {}

    def base(self, applied: str, commit: str) -> str | None:
        """What ``commit`` is judged against: the applied commit, else the recorded one,
        else its first parent (None for a root commit: nothing came before it)."""
        for rev in (applied, self.recorded(), f"{commit}^1"):
            if rev and _commit(self.root, rev):
                return _commit(self.root, rev)
        return None

    def recorded(self) -> str:
        """The commit this environment's server approved and applied last ("" if none)."""
        text = self.record.read_text().strip() if self.record.is_file() else ""
        return _commit(self.root, text) or "" if text else ""

    def require(self, commit: str, applied: str, serving: str, generation: int = 0) -> None:
        """Raise ``PolicyRefused`` unless models.yaml at ``commit`` passes the check."""
        base = self.base(applied, commit)
        if base is None or base == commit:
            return
        failures = self._verdict(base, commit, generation)
        if failures:
            listed = "\n".join(f"  - {f}" for f in failures)
            raise PolicyRefused(
                f"models.yaml at {commit[:10]} fails `mlops check` against the applied state "
                f"({base[:10]}), so it is not applied (`mlops deploy` refuses it too); still "
                f"serving {serving}. Revert it on main or fix it in a pull request:\n{listed}"
            )

    def _verdict(self, base: str, commit: str, generation: int) -> list[str]:
        key = (base, commit, generation)
        if key not in self._verdicts:
            from mlops.promotion import check

            text = tools.git("show", f"{commit}:{paths.MODELS_FILE}", cwd=self.root)
            source = f"{commit[:10]}:{paths.MODELS_FILE}"
            report = check.evaluate(self.root, text, base, source=source, rev=commit)
            self._verdicts = {key: report.failures}  # older verdicts are never asked again
        return self._verdicts[key]

    def remember(self, commit: str) -> None:
        """``commit`` is applied: later states are judged against it, after a restart too."""
        self.record.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.record.with_suffix(".part")
        tmp.write_text(commit + "\n")
        tmp.replace(self.record)


def _commit(root: Path, rev: str) -> str | None:
    proc = tools.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=root,
                     check=False)  # fmt: skip
    return proc.stdout.strip() if proc.returncode == 0 else None
