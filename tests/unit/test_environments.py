"""environments/*.yaml: typed, with errors that name the file and key."""

from pathlib import Path

import pytest

from mlops import environments
from mlops.contract import load_contract
from mlops.errors import ConfigError
from mlops.scoring import HEADLINE

ROOT = Path(__file__).resolve().parents[2]


def test_committed_environments_load():
    envs = environments.load_all(ROOT)
    assert set(envs) == {"staging", "production"}
    assert envs["production"].requires == "staging"
    task = load_contract(ROOT).task  # the gates adopt wrote are the adopted task's
    assert list(envs["production"].gates.max_regression) == [HEADLINE[task]]


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown environment 'prod'.*production, staging"):
        environments.load("prod", ROOT)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"serving": {"target": "k8s"}}, "serving.target = 'k8s': unknown target"),
        ({"gates": {"min": {"roc_auc": "high"}}}, "gates.min.roc_auc = 'high': must be a number"),
        ({"canary": {"max_traffic": 150}}, "canary.max_traffic = 150"),
        ({"gates": {"max_model_mb": -1}}, "gates.max_model_mb = -1"),
    ],
)
def test_bad_values_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        environments.parse(raw, "x", "environments/x.yaml")
