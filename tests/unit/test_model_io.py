"""Model files: skops only, byte-reproducible, refused when untrusted or not what Git pinned."""

from dataclasses import replace

import pytest
import skops.io as sio
from sklearn.tree import DecisionTreeClassifier

from mlops.data.generate import generate
from mlops.data.sample import contract as sample_contract
from mlops.model import model_io
from mlops.stages import train as train_stage

CONTRACT = sample_contract()
FEATURES, TARGET = CONTRACT.features, CONTRACT.target
SETTINGS = {
    "seed": 1,
    "estimator": "hist_gradient_boosting",
    "hist_gradient_boosting": {
        "learning_rate": 0.1,
        "max_iter": 20,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
    },
}


def train(df, settings):
    return train_stage.train(df, settings, CONTRACT)


@pytest.fixture(scope="module")
def df():
    return generate(1500, seed=5)


@pytest.fixture(scope="module")
def model(df):
    return train(df, SETTINGS)


def test_saving_the_same_model_twice_gives_the_same_bytes(model, tmp_path):
    model_io.save(model, tmp_path / "a.skops")
    model_io.save(train(generate(1500, seed=5), SETTINGS), tmp_path / "b.skops")
    assert model_io.sha256(tmp_path / "a.skops") == model_io.sha256(tmp_path / "b.skops")


def test_round_trip_predicts_the_same(model, df, tmp_path):
    path = tmp_path / "m.skops"
    model_io.save(model, path)
    loaded = model_io.load(path, expected_digest=model_io.sha256(path))
    x = df[list(FEATURES)].head(50)
    assert (loaded.predict_proba(x) == model.predict_proba(x)).all()


def test_the_allow_list_covers_the_pipeline_and_nothing_is_trusted_from_the_file(model, tmp_path):
    path = tmp_path / "m.skops"
    model_io.save(model, path)
    assert model_io.untrusted_types(path.read_bytes()) == []


class OwnEstimator(DecisionTreeClassifier):
    """What a user writes into the train stage: a type no allow-list has heard of."""


def test_a_type_outside_the_allow_list_is_refused_naming_the_type_and_where(df, tmp_path):
    tree = OwnEstimator(max_depth=2).fit(df[["tenure_months"]], df[TARGET])
    path = tmp_path / "own.skops"
    sio.dump(tree, path)
    with pytest.raises(model_io.ModelFileError) as err:
        model_io.load(path)
    assert f'add "{__name__}.OwnEstimator" to TRUSTED in src/mlops/model/model_io.py' in str(
        err.value
    )


@pytest.mark.parametrize("estimator", ["hist_gradient_boosting", "random_forest", "linear"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_offered_estimator_for_every_task_is_on_the_allow_list(estimator, task, df):
    from mlops.formats import params

    settings = params.load()["train"] | {"estimator": estimator}
    settings["random_forest"] = settings["random_forest"] | {"n_estimators": 3}
    settings["hist_gradient_boosting"] = SETTINGS["hist_gradient_boosting"] | {"max_iter": 3}
    contract, frame = CONTRACT, df.head(300).copy()
    if task == "multiclass":
        frame["churn"] = frame["contract"]
        contract = replace(CONTRACT, task=task, classes=(*CONTRACT.by_name["contract"].categories,))
        contract = replace(contract, positive=None)
    elif task == "regression":
        frame["churn"] = frame["monthly_charges"]
        contract = replace(CONTRACT, task=task, classes=(), positive=None)
    model = train_stage.train(frame, settings, contract)
    assert model_io.untrusted_types(sio.dumps(model)) == []


def test_a_digest_mismatch_is_refused_before_loading(model, tmp_path):
    path = tmp_path / "m.skops"
    model_io.save(model, path)
    with pytest.raises(model_io.ModelFileError, match="refusing to load"):
        model_io.load(path, expected_digest="sha256:" + "0" * 64)


def test_a_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(model_io.ModelFileError, match="dvc pull"):
        model_io.load(tmp_path / "absent.skops")


def test_a_trained_model_carries_the_contract_it_was_trained_with(model, tmp_path):
    from mlops.formats.contract import contract_of

    path = tmp_path / "m.skops"
    model_io.save(model, path)
    carried = contract_of(model_io.load(path))
    assert carried == replace(CONTRACT, description="")  # the prose stays out of the artifact
    assert carried.features == FEATURES and carried.positive == 1


TRAIN_IN_A_NEW_PROCESS = """
import sys
from mlops.data.generate import generate
from mlops.data.sample import contract
from mlops.model import model_io
from mlops.stages import train
settings = {"seed": 1, "estimator": "hist_gradient_boosting", "hist_gradient_boosting": {
    "learning_rate": 0.1, "max_iter": 60, "max_leaf_nodes": 31, "min_samples_leaf": 20,
    "l2_regularization": 0.0}}
model_io.save(train.train(generate(3000, seed=5), settings, contract()), sys.argv[1])
"""


def test_the_model_is_the_same_bytes_whatever_the_machines_thread_count(tmp_path):
    """Gradient boosting's sums depend on how many OpenMP threads fit it; the train stage fits on
    a fixed count, so a 2-core CI runner and an 8-core laptop reproduce the same file."""
    import os
    import subprocess
    import sys

    digests = set()
    for threads in ("1", "2", "4"):
        out = tmp_path / f"model-{threads}.skops"
        env = os.environ | {"OMP_NUM_THREADS": threads}
        subprocess.run([sys.executable, "-c", TRAIN_IN_A_NEW_PROCESS, str(out)], env=env,
                       check=True)  # fmt: skip
        digests.add(model_io.sha256(out))
    assert len(digests) == 1
