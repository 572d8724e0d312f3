"""Rows from live traffic: refresh counts them, the split marks them, evaluate scores the version on
the holdout rows among them (the population its live bar is judged on)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops.core.errors import MlopsError
from mlops.evaluation import scoring
from mlops.formats import refresh_state
from mlops.stages import baselines, split
from tests.decisions.tables import contract, table

SETTINGS = {"holdout_size": 0.2, "validation_size": 0.15, "seed": 42}


def test_refresh_counts_the_newest_rows_from_traffic_across_refreshes_and_drops():
    first = refresh_state.traffic_after({}, 1000, 120, 1120)
    assert first == {"rows": 120, "table_rows": 1120}
    second = refresh_state.traffic_after({"traffic": first}, 1120, 80, 1200)
    assert second == {"rows": 200, "table_rows": 1200}
    # refresh.keep_rows dropped the oldest rows: every kept row can be traffic, never more
    kept = refresh_state.traffic_after({"traffic": second}, 1200, 900, 1000)
    assert kept == {"rows": 1000, "table_rows": 1000}
    # the table changed some other way (adopted, the sample put back): no row is taken for traffic
    assert refresh_state.newest_from_traffic({"traffic": second}, 1500) == 0
    assert refresh_state.traffic_after({"traffic": second}, 1500, 10, 1510)["rows"] == 10


def test_a_broken_traffic_count_is_refused_naming_the_file_key_and_value():
    with pytest.raises(MlopsError, match=r"refresh\.json: traffic\.rows is 'many'"):
        refresh_state.newest_from_traffic({"traffic": {"rows": "many", "table_rows": 10}}, 10)


def test_the_split_marks_the_newest_rows_as_traffic_and_keeps_every_side():
    c, df = contract(), table(2000, seed=1)
    _, plain = split.split(df, SETTINGS, c)
    parts, marked = split.split(df, SETTINGS, c, from_traffic=300)
    assert list(marked["side"]) == list(plain["side"])  # where a row came from moves no row
    assert list(marked["source"][:1700].unique()) == ["table"]
    assert list(marked["source"][1700:].unique()) == ["traffic"]
    held = marked[marked["side"] == "holdout"]
    assert len(held) == len(parts["holdout"])


def _moved(rows: int, seed: int) -> pd.DataFrame:
    """A population where z no longer matters and x matters less: harder to tell apart."""
    moved = table(rows, seed=seed, start_id=10_000)
    rng = np.random.default_rng(seed + 1000)  # not the table's own draws
    score = 0.3 * moved["x"] + rng.normal(scale=2.0, size=rows)
    moved["y"] = (score >= np.quantile(score, 0.7)).astype("int64")
    return moved


def test_evaluate_scores_the_version_on_its_holdout_rows_from_traffic():
    c = contract()
    df = pd.concat([table(3000, seed=2), _moved(1000, seed=3)], ignore_index=True)
    parts, ids = split.split(df, SETTINGS, c, from_traffic=1000)
    train, holdout = parts["train"], parts["holdout"]
    features = list(c.features)
    linear = {"linear": {"regularization": 1.0, "max_iter": 1000}, "seed": 0}
    model = baselines.linear_model(train, linear, c)  # the pipeline every stage builds
    p = scoring.predict(model, holdout[features], c)
    from_traffic = (ids.loc[ids["side"] == "holdout", "source"] == "traffic").to_numpy()
    entry = baselines.on_traffic(p, holdout, from_traffic, train, c)
    assert entry["rows"] == int(from_traffic.sum()) and 150 < entry["rows"] < 250
    whole = scoring.score(holdout["y"].to_numpy(), p, c)["roc_auc"]
    assert entry["model"]["roc_auc"] < whole - 0.05  # the moved rows are harder: said apart
    assert entry["trivial"]["roc_auc"] == 0.5 and entry["se"]["roc_auc"] > 0
    assert "too_small" not in entry
    few = from_traffic & (np.cumsum(from_traffic) <= 20)
    assert "20 rows (fewer than 30)" in baselines.on_traffic(p, holdout, few, train, c)["too_small"]
    assert baselines.on_traffic(p, holdout, np.zeros(len(holdout), bool), train, c) is None


def test_evaluate_reads_which_holdout_rows_came_from_traffic_from_the_split(tmp_path, monkeypatch):
    from mlops.stages import evaluate

    c, df = contract(), table(1000, seed=4)
    parts, ids = split.split(df, SETTINGS, c, from_traffic=250)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifacts/split").mkdir(parents=True)
    ids.to_csv("artifacts/split/row_ids.csv", index=False)
    got = evaluate.holdout_from_traffic(len(parts["holdout"]))
    expected = parts["holdout"]["customer_id"].to_numpy() >= 750  # ids follow table order
    assert got.tolist() == expected.tolist() and 0 < got.sum() < len(got)
    ids.drop(columns="source").to_csv("artifacts/split/row_ids.csv", index=False)
    assert not evaluate.holdout_from_traffic(len(parts["holdout"])).any()  # an older split
    with pytest.raises(MlopsError, match=r"lists \d+ holdout rows but .* has 3: run `dvc repro`"):
        evaluate.holdout_from_traffic(3)


def test_the_card_shows_the_traffic_rows_beside_their_baseline():
    from mlops.model.card_metrics import traffic_lines

    entry = {"rows": 497, "model": {"roc_auc": 0.8021}, "trivial": {"roc_auc": 0.5}}
    text = "\n".join(traffic_lines(entry))
    assert "497 rows came from labelled live traffic" in text
    assert "| roc_auc | 0.8021 | 0.5000 |" in text and "derived from these figures" in text
    small = "\n".join(traffic_lines(entry | {"too_small": "20 rows (fewer than 30)"}))
    assert "too few to judge (20 rows (fewer than 30)): the live bar comes from the whole" in small
    assert traffic_lines(None) == []
