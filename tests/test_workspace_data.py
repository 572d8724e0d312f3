"""The workspace's own table against the workspace's own contract (whatever table was adopted).

Skipped when the table is not in the workspace (a fresh clone before `make data`)."""

import pytest

from mlops.formats import params
from mlops.formats.contract import load_contract
from mlops.stages.validate import describe, validate
from tests.conftest import ROOT

CONTRACT = load_contract(ROOT)
TABLE = ROOT / CONTRACT.data


@pytest.mark.skipif(not TABLE.is_file(), reason=f"{CONTRACT.data} not in the workspace")
def test_the_workspace_table_passes_its_contract():
    report = validate(
        CONTRACT.read_table(TABLE), params.section("validate", ROOT / "params.yaml"), CONTRACT
    )
    assert report["valid"], describe(report)


def test_the_contract_names_a_table_pinned_by_data_dvc():
    assert CONTRACT.data.startswith("data/") and (ROOT / "data.dvc").is_file()
    assert (ROOT / "models.yaml").read_text().count(f"{CONTRACT.model}:") == 1


def test_the_bundled_samples_contract_is_the_one_a_fresh_clone_has():
    from mlops.data import sample

    if CONTRACT.data != sample.contract().data:
        pytest.skip("the workspace adopted another table")
    assert (ROOT / "contract.yaml").read_text() == sample.contract_text()
