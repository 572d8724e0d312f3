"""Model quality: the bar the committed pipeline results must meet. reports/ is written by
`dvc repro` and pinned by dvc.lock, so these read what CI evaluated, with no retrain. Edit the
bar for your model; the deploy gates (environments/*.yaml) say what may go live."""

import json

from mlops.core import paths
from mlops.evaluation import scoring
from mlops.formats.contract import load_contract
from tests.conftest import ROOT

CONTRACT = load_contract(ROOT)
HEADLINE = scoring.HEADLINE[CONTRACT.task]
MAX_SLICE_GAP = 0.10  # no segment may trail the overall headline metric by more than this


def _read(path: str) -> dict:
    return json.loads((ROOT / path).read_text())


def test_the_committed_results_are_for_this_contracts_task():
    assert HEADLINE in _read(paths.METRICS)


def test_no_segment_trails_the_whole_by_much():
    overall = _read(paths.METRICS)[HEADLINE]
    slices = _read(paths.SLICES).get("slices", {})
    worse = -1 if HEADLINE in scoring.LOWER_IS_BETTER else 1
    gaps = {name: worse * (overall - s[HEADLINE]) for name, s in slices.items() if HEADLINE in s}
    assert all(gap <= MAX_SLICE_GAP for gap in gaps.values()), gaps
