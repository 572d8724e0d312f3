"""skops' default trust lists are kept once per environment and handed back unchanged: the same
names skops computes, the same model bytes, the same refusals; a damaged file is recomputed."""

import json
import subprocess
import sys

from mlops.model import skops_defaults

# Each run is a fresh interpreter: skops builds its lists once per process, at import.
PROBE = """
import json, sys
from pathlib import Path
from mlops.model import skops_defaults, model_io
from mlops.data.generate import generate
from mlops.data.sample import contract
from mlops.stages import train
from sklearn.tree import DecisionTreeClassifier


class Own(DecisionTreeClassifier):  # a type neither skops' defaults nor the allow-list know
    pass


skops_defaults.STORE = Path(sys.argv[1])
sio = skops_defaults.skops_io()
lists = sys.modules[skops_defaults.MODULE]
result = {
    "kept": "as computed before" in (lists.__doc__ or ""),
    "lists": {k: v for k, v in vars(lists).items() if k.endswith("_NAMES")},
}
if sys.argv[2] != "-":
    settings = {"seed": 1, "estimator": "random_forest",
                "random_forest": {"n_estimators": 2, "max_depth": 3, "min_samples_leaf": 5,
                                  "max_features": 0.5}}
    model = train.train(generate(300, seed=3), settings, contract())
    out = Path(sys.argv[2])
    model_io.save(model, out)
    result["loaded"] = type(model_io.load(out)).__name__
    try:
        model_io.loads(sio.dumps(Own()), source="probe")
    except model_io.ModelFileError as exc:
        result["refused"] = str(exc)
print(json.dumps(result))
"""


def _run(store, model) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(store), str(model)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def _kept_file(store):
    (found,) = store.glob("skops-defaults-*.json")
    return found


def test_the_kept_lists_are_skops_own_and_change_no_byte_and_no_refusal(tmp_path):
    store = tmp_path / "store"
    first = _run(store, tmp_path / "first.skops")  # skops computes its lists; they are kept
    assert not first["kept"] and _kept_file(store).name == skops_defaults.path().name
    second = _run(store, tmp_path / "second.skops")
    assert second["kept"]
    assert first["lists"] == second["lists"]
    assert "sklearn.pipeline.Pipeline" in second["lists"]["SKLEARN_ESTIMATOR_TYPE_NAMES"]
    assert (tmp_path / "first.skops").read_bytes() == (tmp_path / "second.skops").read_bytes()
    assert first["loaded"] == second["loaded"] == "Pipeline"
    # a type outside skops' defaults and the allow-list is refused alike, naming it
    assert first["refused"] == second["refused"]
    assert "probe needs types outside the allow-list: __main__.Own;" in second["refused"]


def test_a_damaged_or_foreign_file_is_ignored_and_rewritten(tmp_path):
    store = tmp_path / "store"
    _run(store, "-")
    kept = _kept_file(store)
    good = json.loads(kept.read_text())
    assert skops_defaults._read(kept) == good
    for damage in ("{not json", json.dumps({"SKLEARN_ESTIMATOR_TYPE_NAMES": [1]}), "[]", "{}"):
        kept.write_text(damage)
        assert skops_defaults._read(kept) is None, damage
    again = _run(store, "-")  # the last damage: skops computes the lists and they are kept again
    assert not again["kept"] and again["lists"] == good
    assert json.loads(kept.read_text()) == good
