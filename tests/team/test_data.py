"""Expectations on the workspace's own table, beyond what contract.yaml declares: edit them for
your data. The table is the one contract.yaml names (`make data` restores it)."""

import pytest

from mlops.formats.contract import load_contract
from tests.conftest import ROOT

CONTRACT = load_contract(ROOT)
TABLE = ROOT / CONTRACT.data
pytestmark = pytest.mark.skipif(
    not TABLE.is_file(), reason=f"{CONTRACT.data} is not in the workspace: run `make data`"
)
MIN_ROWS_PER_SEGMENT = 100  # fewer and a slice's metrics are noise


@pytest.fixture(scope="module")
def table():
    return CONTRACT.read_table(TABLE)


def test_the_target_is_never_missing(table):
    assert table[CONTRACT.target].notna().all()


def test_every_class_is_seen_in_every_segment(table):
    if not CONTRACT.classification or CONTRACT.segment is None:
        pytest.skip("needs a classification task with a segment")
    classes = table.groupby(CONTRACT.segment, observed=True)[CONTRACT.target].nunique()
    assert (classes == table[CONTRACT.target].nunique()).all(), classes.to_dict()


def test_every_segment_has_enough_rows(table):
    if CONTRACT.segment is None:
        pytest.skip("contract.yaml names no segment")
    rows = table[CONTRACT.segment].value_counts()
    assert (rows >= MIN_ROWS_PER_SEGMENT).all(), rows.to_dict()
