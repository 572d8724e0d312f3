"""contract.yaml: one loader; a malformed contract names the file, the key and the value."""

import pytest
import yaml

from mlops.core.errors import ConfigError
from mlops.data import sample
from mlops.formats.contract import Contract, dump, load_contract


def _raw():
    return yaml.safe_load(sample.contract_text())


def test_the_bundled_contract_round_trips_through_its_own_format():
    c = sample.contract()
    assert Contract.from_dict(yaml.safe_load(dump(c))) == c
    assert c.features[0] == "tenure_months" and c.segment == "region" and c.positive == 1


def _set(path, value):
    def mutate(raw):
        *parents, last = path.split(".")
        node = raw
        for p in parents:
            node = node[p]
        node[last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_set("task", "ranking"), "contract.yaml: task = 'ranking': unknown task"),
        (_set("columns.tenure_months.kind", "date"), "columns.tenure_months.kind = 'date'"),
        (_set("columns.tenure_months.min", "zero"), "columns.tenure_months.min = 'zero': must be"),
        (_set("columns.tenure_months.max", -1), "columns.tenure_months.min = 0: greater than max"),
        (_set("columns.contract.categories", "a, b"), "columns.contract.categories = 'a, b'"),
        (_set("columns.region.colour", 1), "columns.region.colour: unknown key"),
        (_set("target.positive", 7), "target.positive = 7: must be one of [0, 1]"),
        (_set("segment", "tenure_months"), "segment = 'tenure_months': must name a category"),
        (_set("data", "/etc/passwd"), "data = '/etc/passwd': must be a .csv or .parquet"),
        (_set("model", "Churn Model"), "model = 'Churn Model': lower-case"),
        (lambda raw: raw.pop("target"), "target = None: must be a mapping"),
        (_set("columns.churn", {"kind": "int"}), "columns.churn: is the target"),
    ],
)
def test_a_malformed_contract_names_file_key_and_value(tmp_path, mutate, message):
    raw = _raw()
    mutate(raw)
    (tmp_path / "contract.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        load_contract(tmp_path)
    assert message in str(err.value)
    assert str(tmp_path / "contract.yaml") in str(err.value)


def test_invalid_yaml_and_a_missing_file_are_clear(tmp_path):
    with pytest.raises(ConfigError, match=r"file not found.*mlops data adopt"):
        load_contract(tmp_path)
    (tmp_path / "contract.yaml").write_text("columns: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_contract(tmp_path)
