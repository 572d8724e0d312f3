"""models.yaml: one loader, clear errors, and edits that keep comments and key order."""

from pathlib import Path

import pytest

from mlops.core.errors import ConfigError
from mlops.formats import models_file as mf
from mlops.formats.contract import load_contract

ROOT = Path(__file__).resolve().parents[2]
A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def test_committed_file_declares_the_model_and_says_nothing_is_deployed():
    state = mf.load(ROOT / "models.yaml")
    assert state.model_names == [load_contract(ROOT).model]
    assert state.deployment("production") is None
    assert "not deployed to any environment yet" in state.describe()


def test_edits_keep_comments_and_order():
    text = (ROOT / "models.yaml").read_text()
    text = mf.with_deployment(text, "staging", mf.Deployment(mf.Pin("v1.0.0", A)))
    text = mf.with_deployment(
        text, "production", mf.Deployment(mf.Pin("v1.0.0", A), mf.Canary("v1.1.0", B, 10))
    )
    text = mf.with_deployment(text, "staging", mf.Deployment(mf.Pin("v1.1.0", B)))
    assert text.startswith((ROOT / "models.yaml").read_text().split("models:")[0])
    assert text.index("staging:") < text.index("production:")
    state = mf.parse(text)
    assert state.deployment("staging").stable == mf.Pin("v1.1.0", B)
    assert state.deployment("production").canary == mf.Canary("v1.1.0", B, 10)
    assert A in text.splitlines()[-5]  # digests are never wrapped


def test_removing_a_canary_keeps_the_stable_version():
    text = mf.with_deployment(
        "models:\n  churn-model: {}\n",
        "production",
        mf.Deployment(mf.Pin("v1.0.0", A), mf.Canary("v1.1.0", B, 10)),
    )
    text = mf.with_deployment(text, "production", mf.Deployment(mf.Pin("v1.0.0", A)))
    assert (
        "canary" not in text and mf.parse(text).deployment("production").stable.version == "v1.0.0"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models: [", "not valid YAML"),
        ("", "file is empty"),
        (
            "models:\n  churn-model:\n    staging: {version: v1, digest: " + A + "}\n",
            "models.churn-model.staging.version = 'v1'",
        ),
        ("models:\n  churn-model:\n    staging: {version: v1.0.0}\n", "'digest' is a required"),
        (
            "models:\n  churn-model:\n    staging:\n      version: v1.0.0\n      digest: "
            + A
            + "\n      canary: {version: v1.1.0, digest: "
            + B
            + ", traffic: 150}\n",
            "canary.traffic = 150",
        ),
        (
            "models:\n  churn-model:\n    staging:\n      version: v1.0.0\n      digest: "
            + A
            + "\n      canary: {version: v1.1.0, digest: "
            + B
            + ", traffic: 0}\n",
            "canary.traffic = 0",
        ),
        (
            "models:\n  churn-model:\n    staging:\n      canary: {version: v1.1.0, digest: "
            + B
            + ", traffic: 10}\n",
            "'version' is a required",
        ),
    ],
)
def test_bad_files_are_refused_with_the_key(text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        mf.parse(text)


def test_a_shadow_is_pinned_like_a_canary_and_may_see_every_request():
    stable = mf.Pin("v1.0.0", A)
    both = mf.Deployment(stable, mf.Canary("v1.1.0", B, 10), mf.Shadow("v1.2.0", B, 100))
    text = mf.with_deployment("models:\n  churn-model: {}\n", "production", both)
    state = mf.parse(text)
    assert state.deployment("production") == both
    assert "shadow v1.2.0 on 100%" in state.describe()
    dropped = mf.with_deployment(text, "production", mf.Deployment(stable, None, both.shadow))
    assert mf.parse(dropped).deployment("production").canary is None
    assert mf.parse(dropped).deployment("production").shadow == both.shadow


@pytest.mark.parametrize(
    ("shadow", "message"),
    [
        (f"{{version: v1.2.0, digest: {B}, traffic: 0}}", "a shadow's traffic is a whole"),
        (f"{{version: v1.2.0, digest: {B}, traffic: 101}}", "from 1 to 100"),
        ("{version: v1.2.0, traffic: 10}", "'digest' is a required property"),
        (f"{{version: v1.2.0, digest: {B}, traffic: 5, mirror: true}}", "mirror"),
    ],
)
def test_bad_shadows_are_refused_with_the_key(shadow, message):
    text = f"models:\n  churn-model:\n    production:\n      version: v1.0.0\n      digest: {A}\n"
    with pytest.raises(ConfigError, match=r"models\.churn-model\.production") as info:
        mf.parse(text + f"      shadow: {shadow}\n")
    assert message in str(info.value)
