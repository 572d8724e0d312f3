"""A Parquet table with ordered and unordered categoricals, a 0/1 flag, an id column and rows
without a target, adopted as a new user does: `mlops data adopt` -> `dvc repro` (real Git, real
DVC) -> trained with the categories' order -> served by a real server that answers a row sent
as exported; then `train.recency` changes the model and the version records it."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlops.core import paths
from mlops.model import model_io, registry
from mlops.serve import launcher
from tests.adopted import deploy, private_copy, tag
from tests.conftest import built_once, dvc, git, mlops, new_clone, quick_params, run

# one worker takes all three: they share one repository, built once, and the other worker need
# not wait for its build
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("kinds")]
ORDER = ["poor", "fair", "good", "premium"]
ROWS, UNLABELLED = 1200, 40


def _table(n: int = ROWS, seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    quality = rng.choice(ORDER, n)
    promo, x = rng.integers(0, 2, n), rng.normal(size=n)
    logit = 0.9 * pd.Series(quality).map(ORDER.index).to_numpy() - 1.4 + x + 0.6 * promo
    bought = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no").astype(object)
    bought[rng.choice(n, UNLABELLED, replace=False)] = None  # outcomes not known yet
    return pd.DataFrame(
        {
            "order_id": [f"o{i:06d}" for i in range(n)],
            "quality": pd.Categorical(quality, categories=ORDER, ordered=True),
            "colour": pd.Categorical(rng.choice(["red", "blue", "green"], n)),
            "promo": promo,
            "x": x.round(4),
            "bought": bought,
        }
    )


def _build(base: Path) -> None:
    """``base``: repo/ (adopted, reproduced, v1.0.0 tagged), remote/, origin.git; the adopt
    output in repo/.git/adopt.out (copied with the repository, out of its work tree)."""
    repo = new_clone(base / "repo", base / "remote")
    source = base / "orders.parquet"
    _table().to_parquet(source, index=False)
    out = mlops(repo, "data", "adopt", str(source), "--target", "bought").stdout
    (repo / ".git" / "adopt.out").write_text(out)
    quick_params(repo)
    dvc(repo, "repro")
    dvc(repo, "push")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "adopt orders.parquet")
    tag(repo, "v1.0.0")
    git(base, "clone", "-q", "--bare", str(repo), "origin.git")
    git(repo, "remote", "add", "origin", str(base / "origin.git"))
    git(repo, "fetch", "-q", "origin")
    git(repo, "branch", "-q", "--set-upstream-to=origin/main")


@pytest.fixture(scope="session")
def kinds(tmp_path_factory) -> tuple[Path, str]:
    """``base`` (built once per session, this worker's copy: copy it before changing it) and the
    adopt output."""
    base = built_once(tmp_path_factory, "kinds", _build)
    return base, (base / "repo" / ".git" / "adopt.out").read_text()


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_categorical_parquet_adopts_and_trains_with_its_order(kinds):
    base, out = kinds
    repo = base / "repo"
    assert f"{UNLABELLED} row(s) without a value left out" in out
    assert "class balance: 'no'" in out and "a 0/1 flag" in out
    assert "ordered categories ['poor', 'fair', 'good', 'premium']" in out
    contract = yaml.safe_load((repo / "contract.yaml").read_text())["columns"]
    assert contract["quality"] == {"kind": "category", "categories": ORDER, "ordered": True}
    assert contract["promo"]["min"] == 0 and contract["promo"]["max"] == 1
    assert contract["order_id"]["feature"] is False
    adopted = pd.read_parquet(repo / "data" / "orders.parquet")
    assert len(adopted) == ROWS - UNLABELLED and adopted["bought"].notna().all()
    assert json.loads((repo / paths.VALIDATION).read_text())["valid"]
    model = model_io.load(repo / paths.MODEL)
    encoder = model.named_steps["features"].named_transformers_["ordinal"]
    assert [list(c) for c in encoder.categories_] == [ORDER]
    assert json.loads((repo / paths.METRICS).read_text())["roc_auc"] > 0.7


def test_a_row_sent_as_exported_is_answered_and_a_two_refused(kinds, tmp_path):
    from mlops.demos.drift import wait_for_log
    from mlops.formats import predlog

    repo = private_copy(kinds[0], tmp_path)
    deploy(repo, "staging", "v1.0.0")
    rows = _table().head(5).astype(object)  # every column, the id and the target included
    exported = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                for r in rows.to_dict("records")]  # fmt: skip
    assert "bought" in exported[0]
    logs = tmp_path / "logs"
    with launcher.start(repo, "staging", log_dir=str(logs)) as server:
        import httpx

        client = httpx.Client(base_url=server.url, timeout=60)
        ok = client.post("/predict", json={"records": exported})
        assert ok.status_code == 200, ok.text
        assert len(ok.json()["predictions"]) == 5
        bad = client.post("/predict", json={"records": [{**exported[0], "promo": 2}]})
        assert bad.status_code == 422
        assert [e["loc"] for e in bad.json()["detail"]] == [["records", 0, "promo"]]
        wait_for_log(logs, "staging", "v1.0.0", 5)
    logged = [r["features"] for r in predlog.read(logs, "staging")]
    assert len(logged) == 5 and not any("bought" in f for f in logged)  # the target never logged


def test_recency_changes_the_model_and_the_version_records_it(kinds, tmp_path):
    repo = private_copy(kinds[0], tmp_path)
    before = _md5(repo / paths.MODEL)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["recency"] = {"half_life": 300}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc(repo, "repro")
    weighted = _md5(repo / paths.MODEL)
    assert weighted != before
    recorded = registry.workspace_metadata(repo)["params"]["train"]["recency"]
    assert recorded == {"half_life": 300.0}
    run([sys.executable, "-m", "mlops.stages.train"], repo)  # bit-exact retrain still holds
    assert _md5(repo / paths.MODEL) == weighted
