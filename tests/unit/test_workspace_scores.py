"""`mlops gate` after `mlops report` (train.yml runs both) reads the live model's scores on the
workspace's holdout that the report kept, instead of loading both models and scoring again; a
change to any file the scoring reads scores afresh."""

from __future__ import annotations

import pytest

from mlops.quality import champion
from mlops.report import collect, gate
from tests.conftest import deploy_version

pytestmark = pytest.mark.integration


def _never(*_):
    raise AssertionError("scored again")


def test_gate_reads_what_the_report_scored_and_a_changed_input_scores_again(
    repo, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    deploy_version(repo, "v1.0.0", ("staging", "production"))
    reported = collect.collect(repo, "HEAD~1")
    kept = list((tmp_path / "cache" / "mlops" / "scores").glob("*.json"))
    assert len(kept) == 1  # v1.0.0 on this holdout, for both environments that serve it
    scored = [v.live.champion for v in reported.verdicts]
    assert all(c is not None and c.scored for c in scored)

    monkeypatch.setattr(champion.Scorer, "_score", _never)
    verdicts = gate.check_workspace(repo)
    assert [v.live.champion for v in verdicts] == scored
    assert [v.gates for v in verdicts] == [v.gates for v in reported.verdicts]

    # the contract reads the holdout: another one (even a byte) is another key
    contract = repo / "contract.yaml"
    contract.write_text(contract.read_text() + "\n")
    with pytest.raises(AssertionError, match="scored again"):
        gate.check_workspace(repo)
