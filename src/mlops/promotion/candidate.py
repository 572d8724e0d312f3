"""Nothing in a tag message is trusted for a decision: a candidate is checked from Git and scored.

Before a candidate version is gated, `mlops check`:

- requires the tag's commit on the base's first-parent line (a version is registered from
  main, never from a branch that was not merged);
- requires the metrics, slices and serving budget its message records to equal the
  Git-tracked reports at that commit (``REPORTS``), and its DVC md5 to equal what that
  commit's dvc.lock pins for the artifact;
- fetches its artifact (sha256 checked against the pin before a byte is loaded) and scores it
  on its holdout with the evaluate stage's own code, through the same ``champion.Scorer`` that
  scores the live version, and gates on those measured metrics. Slices and the serving budget
  come from the commit's reports, never from the tag text.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops.core import paths, tools
from mlops.model import registry
from mlops.quality import champion, gates
from mlops.quality.holdout import lock_md5

REPORTS = {"metrics": paths.METRICS, "slices": paths.SLICES, "serving": paths.SERVING}


def first_parent_line(root: str | Path, base: str) -> set[str]:
    """Every commit of ``base``'s first-parent line (one `git rev-list`)."""
    proc = tools.run(["git", "rev-list", "--first-parent", base], cwd=root, check=False)
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def _show_json(root: str | Path, commit: str, path: str):
    proc = tools.run(["git", "show", f"{commit}:{path}"], cwd=root, check=False)
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout)
    except ValueError:
        return None


def provenance(root: str | Path, version: registry.Version, line: set[str], base: str) -> list[str]:
    """Why ``version``'s tag cannot be believed, one line each (none: it can)."""
    if version.commit not in line:
        return [
            f"{version.tag} points at commit {version.commit[:10]}, which is not on {base}'s "
            "first-parent line (it was never merged to main); versions are registered from "
            "main (register.yml): merge the change that trained it, then register it"
        ]
    problems = []
    for key, path in REPORTS.items():
        recorded, committed = version.metadata.get(key, {}), _show_json(root, version.commit, path)
        if committed is not None and recorded != committed:
            problems.append(
                f"{version.tag}: its message records {key} that differ from {path} at its "
                f"commit {version.commit[:10]} (the tag text was edited after registration?); "
                "tags are not trusted for decisions: re-register the model from main"
            )
    lock = tools.run(["git", "show", f"{version.commit}:dvc.lock"], cwd=root, check=False).stdout
    artifact = version.metadata.get("artifact", paths.MODEL)
    pinned = lock_md5(lock, artifact)
    if pinned != version.metadata.get("md5"):
        problems.append(
            f"{version.tag}: its message records md5 {version.metadata.get('md5')} for "
            f"{artifact}, but dvc.lock at its commit {version.commit[:10]} pins {pinned}"
        )
    return problems


def committed_results(root: str | Path, version: registry.Version) -> gates.Results:
    """The candidate's slices and serving budget as its commit holds them (metrics: measured)."""
    slices = _show_json(root, version.commit, paths.SLICES) or {}
    serving = _show_json(root, version.commit, paths.SERVING) or {}
    return gates.Results({}, slices, serving)


def measured(
    root: str | Path, version: registry.Version, scorer: champion.Scorer
) -> tuple[gates.Results | None, champion.Champion]:
    """The candidate scored on its own holdout (its artifact fetched and digest-checked), and
    the figures the gates read: measured metrics, the commit's slices and serving budget."""
    scored = scorer.champion(version, version.digest)
    if not scored.scored:
        return None, scored
    committed = committed_results(root, version)
    return gates.Results(scored.metrics, committed.slices, committed.serving), scored
