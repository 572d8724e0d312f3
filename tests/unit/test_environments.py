"""environments/*.yaml: typed, with errors that name the file and key."""

from pathlib import Path

import pytest

from mlops.core.errors import ConfigError
from mlops.evaluation.scoring import HEADLINE
from mlops.formats import environments
from mlops.formats.contract import load_contract

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
        ({"canary": {"alpha": 0}}, "canary.alpha = 0: must be a false-rollback rate"),
        ({"canary": {"alpha": "5%"}}, "canary.alpha = '5%'"),
        ({"canary": {"min_effect": {"error_rate": 0}}}, "canary.min_effect.error_rate = 0.0"),
        ({"canary": {"min_effect": {"latency": 1}}}, "canary.min_effect.latency: unknown"),
        ({"canary": {"min_requests": 0}}, "canary.min_requests = 0: must be a whole number"),
        ({"canary": {"abort_on": {"error_rate": 0.01}}}, "canary.abort_on.error_rate = 0.01"),
    ],
)
def test_bad_values_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        environments.parse(raw, "x", "environments/x.yaml")


def test_canary_policy_defaults_and_overrides():
    policy = environments.parse(
        {"canary": {"alpha": 0.01, "min_effect": {"error_rate": 0.002}}}, "x", "x.yaml"
    ).canary
    assert policy.alpha == 0.01 and policy.min_requests == 100
    assert policy.min_effect == {**environments.MIN_EFFECT, "error_rate": 0.002}


def test_a_retired_abort_on_key_says_what_replaces_it():
    with pytest.raises(ConfigError, match=r"canary\.alpha and canary\.min_effect"):
        environments.parse({"canary": {"abort_on": {"score_psi": 0.2}}}, "x", "x.yaml")
