"""`mlops deploy` and `mlops status` read a shadow from `/version`: a deployment with a shadow is
served only when the server scores that shadow (version, digest, share), and says so."""

from __future__ import annotations

from mlops.formats.models_file import Deployment, Pin, Shadow
from mlops.promotion.target import Live

STABLE = {"version": "v1.0.0", "digest": "sha256:" + "a" * 64}
SHADOW = {"version": "v1.2.0", "digest": "sha256:" + "b" * 64, "traffic": 100}
DESIRED = Deployment(Pin(STABLE["version"], STABLE["digest"]),
                     shadow=Shadow(SHADOW["version"], SHADOW["digest"], 100))  # fmt: skip


def _view(**extra) -> dict:
    return {"env": "production", "commit": "c0ffee", "stable": STABLE, "canary": None,
            "sync": "Synced", **extra}  # fmt: skip


def test_a_served_shadow_counts_and_is_described():
    live = Live.from_json(_view(shadow=SHADOW))
    assert live.serves(DESIRED)
    assert live.describe() == "v1.0.0 + shadow v1.2.0 on 100%"


def test_a_missing_or_other_shadow_is_not_the_desired_state():
    assert not Live.from_json(_view()).serves(DESIRED)
    assert not Live.from_json(_view(shadow={**SHADOW, "traffic": 10})).serves(DESIRED)
    assert not Live.from_json(_view(shadow=SHADOW)).serves(Deployment(DESIRED.stable))
    assert Live.from_json(_view()).serves(Deployment(DESIRED.stable))
