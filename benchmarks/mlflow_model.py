"""Runs in the benchmark's own MLflow venv (never the template's): load the skops model and save
it as an MLflow sklearn model, so `mlflow models serve` serves exactly the same estimator.

usage: python mlflow_model.py MODEL.skops OUT_DIR
"""

import sys

import mlflow.sklearn
import skops.io as sio

src, out = sys.argv[1], sys.argv[2]
# the file's sha256 was checked against the registry by the caller; trust what it needs
model = sio.load(src, trusted=sio.get_untrusted_types(file=src))
mlflow.sklearn.save_model(model, out, serialization_format="cloudpickle")
print(f"saved {type(model).__name__} to {out}")
