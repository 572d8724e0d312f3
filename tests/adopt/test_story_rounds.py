"""`make demo` after the retrain: a live figure within noise of its bar is not told as a
recovery. More rounds of fresh labelled traffic of the same moved population follow, judged with
every round since the retrain, until the verdict is decisive (at or above its bar; below it,
exit 1) or the rows run out (too few to tell, exit 3).

The rounds run as in the demo, minus the server: rows taken in turn from the moved population of
a table made here, the prediction log in the server's format, outcome files stored by `mlops
outcomes ingest`'s code and `mlops performance`'s measurement and report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlops.demos import feedback, traffic
from mlops.feedback import outcomes, performance, render
from tests.feedback.conftest import write_log
from tests.feedback.contracts import contract

ENV = "production"
SIZE = 150  # labelled rows per round


def _table(rows: int, seed: int) -> pd.DataFrame:
    """A binary table and, per row, the score a model gives it (ROC AUC about 0.76)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 10, rows).round(4)
    y = (rng.random(rows) < 1 / (1 + np.exp(-x / 10))).astype(int)
    score = 1 / (1 + np.exp(-(x / 10 + rng.normal(0, 1, rows))))
    colour = rng.choice(["red", "green", "blue"], rows, p=[0.6, 0.3, 0.1])
    return pd.DataFrame({"x": x, "colour": colour, "y": y, "score": score})


class Rounds:
    """The rounds after the retrain against a repository made in ``root``."""

    def __init__(self, root: Path, table: pd.DataFrame, bar: float) -> None:
        self.root, self.table, self.logs = root, table, root / "logs"
        self.contract = contract("binary")
        (root / "environments").mkdir(parents=True)
        (root / "contract.yaml").write_text(yaml.safe_dump(self.contract.to_dict()))
        monitoring = {"min_live": {"roc_auc": bar}, "min_outcomes": 100}
        (root / "environments" / f"{ENV}.yaml").write_text(
            yaml.safe_dump({"monitoring": monitoring})
        )
        self.order = traffic.moved_population(table, self.contract, drift=1.0, seed=7)
        self.used: pd.Index | None = None

    def send(self, k: int) -> feedback.Figure | None:
        """Round ``k``: the next rows, logged as answered, their outcomes ingested, then the
        live figure over every round so far; None when too few rows are left."""
        if len(self.order.difference(self.used if self.used is not None else [])) < SIZE // 2:
            return None
        sent = traffic.take(self.table, self.contract, self.order, SIZE, used=self.used)
        self.used = sent.rows if self.used is None else self.used.append(sent.rows)
        scores = self.table.loc[sent.rows, "score"].tolist()
        ids = write_log(self.logs, ENV, "v1.2.0", "stable", [int(s >= 0.5) for s in scores],
                        scores, prefix=f"fresh{k}-", features=sent.records)  # fmt: skip
        file = self.root / "labels" / f"fresh{k}.csv"
        file.parent.mkdir(exist_ok=True)
        pd.DataFrame({"request_id": ids, "row": 0, "y": sent.outcomes}).to_csv(file, index=False)
        outcomes.ingest(self.root, file, ENV, dvc_add=False, log_dir=self.logs)
        result = performance.run(self.root, ENV, log_dir=self.logs)
        files = render.write_reports(result, self.root / "reports" / "performance")
        return feedback.figure(files["json"])


def _auc(table: pd.DataFrame, rows: pd.Index) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(table.loc[rows, "y"], table.loc[rows, "score"]))


def test_within_noise_sends_more_rounds_until_the_bar_is_met(tmp_path):
    table = _table(3000, seed=3)
    order = traffic.moved_population(table, contract("binary"), drift=1.0, seed=7)
    truth, opening = _auc(table, order), _auc(table, order[:SIZE])
    # a bar between the first round's figure and the population's: the first round cannot
    # tell, the population meets it
    assert opening < truth - 0.05
    bar = round((opening + truth) / 2, 4)
    rounds = Rounds(tmp_path / "repo", table, bar)
    first = rounds.send(1)
    assert first.status == performance.WITHIN_NOISE
    assert first.value == pytest.approx(opening, abs=1e-6)
    assert first.low < bar <= first.high and first.labelled == SIZE

    fig, added, used_up = feedback.settle(first, lambda k: rounds.send(k + 1))
    assert fig.status == performance.OK and added >= 1 and not used_up
    assert fig.labelled == SIZE * (added + 1)  # judged with every round since the retrain
    assert fig.value >= bar
    told = feedback.check_recovered(fig, ENV, rounds=added)
    assert told.startswith("live performance recovered, at or above its bar: roc_auc")
    assert f"(bar {bar:g})" in told


def test_a_table_too_small_to_tell_is_not_called_a_recovery(tmp_path):
    """The bar at the population's own figure: every round stays within noise, the rows run
    out, and the story says how many rows it had and the interval around the bar (exit 3)."""
    table = _table(700, seed=9)
    order = traffic.moved_population(table, contract("binary"), drift=1.0, seed=7)
    bar = round(_auc(table, order) + 0.01, 4)
    rounds = Rounds(tmp_path / "repo", table, bar)
    first = rounds.send(1)
    assert first.status == performance.WITHIN_NOISE
    fig, added, used_up = feedback.settle(first, lambda k: rounds.send(k + 1))
    assert used_up and fig.status == performance.WITHIN_NOISE
    assert fig.labelled == SIZE * (added + 1) <= len(order)
    with pytest.raises(feedback.Undecided) as caught:
        feedback.check_recovered(fig, ENV, rounds=added, used_up=used_up)
    message = str(caught.value)
    assert message.startswith(
        f"too few labelled rows to tell on this table: {fig.labelled:,} rows, interval "
        f"[{fig.low:.4f}, {fig.high:.4f}] around the bar {bar:g}"
    )
    assert "every labelled row of the moved population was used" in message
    assert "does not call this a recovery" in message
    assert caught.value.exit_code == 3


def test_more_rounds_can_show_the_bar_missed_beyond_noise(tmp_path):
    table = _table(3000, seed=0)
    order = traffic.moved_population(table, contract("binary"), drift=1.0, seed=7)
    rounds = Rounds(tmp_path / "repo", table, bar=round(_auc(table, order) + 0.06, 4))
    first = rounds.send(1)
    assert first.status == performance.WITHIN_NOISE
    fig, added, _ = feedback.settle(first, lambda k: rounds.send(k + 1))
    assert fig.status == performance.BELOW and added >= 1
    with pytest.raises(feedback.StoryError) as caught:
        feedback.check_recovered(fig, ENV, rounds=added)
    assert "did not recover" in str(caught.value) and caught.value.exit_code == 1


def test_every_round_of_the_moved_population_holds_the_same_mix():
    """Rounds taken in turn hold the drifted mix of categories (the rarest one more common
    than in the table) and never reuse a row; drawing each round by weight from the rows left
    used the rarest rows up first, so later rounds were another population."""
    table = _table(6000, seed=1)
    c = contract("binary")
    order = traffic.moved_population(table, c, drift=1.0, seed=7)
    assert 0.7 * len(table) < len(order) < 0.8 * len(table)
    shares, used = [], None
    for _ in range(5):
        sent = traffic.take(table, c, order, 800, used=used)
        assert used is None or not set(sent.rows) & set(used)
        used = sent.rows if used is None else used.append(sent.rows)
        shares.append(float(np.mean([r["colour"] == "blue" for r in sent.records])))
    in_table = float((table["colour"] == "blue").mean())  # about 10 %
    assert min(shares) > in_table + 0.015  # the moved population holds more (all of them)
    assert max(shares) - min(shares) < 0.03
    by_weight, used = [], None
    for seed in range(5):
        sent = traffic.labelled(table, c, 800, seed=seed, drift=1.0, exclude=used)
        used = sent.rows if used is None else used.append(sent.rows)
        by_weight.append(float(np.mean([r["colour"] == "blue" for r in sent.records])))
    assert by_weight[0] - by_weight[-1] > 0.1, by_weight  # what the fixed population avoids
