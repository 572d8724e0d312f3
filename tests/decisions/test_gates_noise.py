"""Gates judged with their uncertainty: slice gaps and regressions fail only beyond noise, a
slice too small to judge is reported as such, and min_lift asks for a margin over the trivial
baseline. The slices come from the evaluate stage's own code on rows made here."""

import numpy as np
import pandas as pd

from mlops.evaluation import scoring, uncertainty
from mlops.formats.environments import parse
from mlops.quality import gates
from mlops.stages.evaluate import slices
from tests.decisions.tables import contract

ENV = parse(
    {"gates": {"max_slice_gap": {"accuracy": 0.15}, "max_regression": {"accuracy": 0.02},
               "min_lift": {"roc_auc": 0.1}}},
    "staging", "environments/staging.yaml",
)  # fmt: skip


def _slices(sizes: dict[str, int], hit_rate: dict[str, float], seed: int = 0) -> dict:
    """Slices of a model right exactly ``hit_rate`` of the time in each region."""
    rng = np.random.default_rng(seed)
    frames = []
    for region, n in sizes.items():
        y = rng.integers(0, 2, size=n)
        right = rng.permutation(np.arange(n) < round(hit_rate[region] * n))
        frames.append(pd.DataFrame({"region": region, "y": y, "pred": np.where(right, y, 1 - y)}))
    df = pd.concat(frames, ignore_index=True)
    proba = np.column_stack([1 - df["pred"] * 0.8 - 0.1, df["pred"] * 0.8 + 0.1])
    p = scoring.Predictions(df["pred"].to_numpy(), proba, (0, 1))
    return slices(df, p, contract())


def _gate(r: gates.Results, live=None, gate="max_slice_gap"):
    return next(g for g in gates.check(ENV, r, live) if g.gate == gate)


def test_a_gap_within_noise_on_small_slices_passes_and_says_how_sure():
    s = _slices({"north": 40, "south": 40}, {"north": 0.55, "south": 0.75})
    g = _gate(gates.Results({}, s, {}))
    assert g.value > 0.15  # the point estimate is over the allowance...
    assert g.passed  # ...but within noise at 40 rows a slice
    assert "±" in g.detail and "95 %" in g.detail


def test_the_same_gap_on_large_slices_fails():
    s = _slices({"north": 4000, "south": 4000}, {"north": 0.55, "south": 0.75})
    g = _gate(gates.Results({}, s, {}))
    assert g.value > 0.15 and not g.passed


def test_a_slice_too_small_to_judge_is_reported_not_failed():
    s = _slices({"north": 4000, "south": 4000, "tiny": 12}, {"north": 0.7, "south": 0.72,
                "tiny": 0.1})  # fmt: skip
    assert s["slices"]["tiny"]["too_small"].startswith("12 rows")
    g = _gate(gates.Results({}, s, {}))
    assert g.passed and "too small to judge: tiny (12 rows" in g.detail
    only_small = _slices({"tiny": 12, "east": 10}, {"tiny": 0.1, "east": 0.9})
    g = _gate(gates.Results({}, only_small, {}))
    assert g.passed and g.value is None and "fewer than 2 slices large enough" in g.detail


def test_a_regression_fails_only_beyond_its_noise():
    live = gates.Results({"accuracy": 0.80}, {}, {}, "both on 200 rows",
                         candidate={"accuracy": 0.76}, se={"accuracy": 0.03})  # fmt: skip
    g = _gate(gates.Results({"accuracy": 0.9}, {}, {}), live, "max_regression")
    assert g.value == 0.04 and g.passed  # 0.04 - 1.645 * 0.03 < 0.02: noise
    sure = gates.Results({"accuracy": 0.80}, {}, {}, "both on 90,000 rows",
                         candidate={"accuracy": 0.76}, se={"accuracy": 0.002})  # fmt: skip
    g = _gate(gates.Results({"accuracy": 0.9}, {}, {}), sure, "max_regression")
    assert not g.passed and "live 0.8 -> candidate 0.76" in g.detail
    assert uncertainty.beyond_noise(0.04, 0.02, 0.002) and not uncertainty.beyond_noise(
        0.04, 0.02, 0.03
    )


def test_min_lift_compares_with_the_trivial_baseline():
    base = {"trivial": {"roc_auc": 0.5}}
    assert _gate(gates.Results({"roc_auc": 0.65}, {}, {}, baselines=base), gate="min_lift").passed
    g = _gate(gates.Results({"roc_auc": 0.55}, {}, {}, baselines=base), gate="min_lift")
    assert not g.passed and g.value == 0.05
    g = _gate(gates.Results({"roc_auc": 0.9}, {}, {}), gate="min_lift")
    assert not g.passed and "no trivial baseline" in g.detail
