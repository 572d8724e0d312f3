"""params.yaml: a bad value is reported with file, key and value before any stage runs."""

from pathlib import Path

import pytest
import yaml

from mlops.core.errors import ConfigError
from mlops.formats import params

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path, mutate):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    mutate(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_committed_params_load_with_every_section():
    loaded = params.load(ROOT / "params.yaml")
    assert set(loaded) == set(params.SPEC)
    assert isinstance(loaded["split"]["holdout_size"], float)


def test_wrong_type_names_file_key_and_value(tmp_path):
    path = _write(tmp_path, lambda p: p["train"]["random_forest"].update(max_depth="lots"))
    with pytest.raises(
        ConfigError, match=r"params.yaml: train.random_forest.max_depth = 'lots': must be int"
    ):
        params.load(path)


def test_int_where_float_expected_is_accepted(tmp_path):
    path = _write(tmp_path, lambda p: p["train"]["linear"].update(regularization=1))
    assert params.load(path)["train"]["linear"]["regularization"] == 1.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["split"].pop("seed"), "split.seed: missing key"),
        (lambda p: p["train"].update(depth=3), "train.depth: unknown key"),
        (lambda p: p["split"].update(holdout_size=1.5), "split.holdout_size = 1.5: out of range"),
        (lambda p: p.pop("evaluate"), "evaluate: missing section"),
        (lambda p: p["train"].update(seed=True), "train.seed = True: must be int"),
        (
            lambda p: p["train"].update(estimator="xgboost"),
            "train.estimator = 'xgboost': unknown value; one of hist_gradient_boosting",
        ),
    ],
)
def test_bad_params_are_refused(tmp_path, mutate, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        params.load(_write(tmp_path, mutate))


def test_invalid_yaml_is_reported(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        params.load(path)
