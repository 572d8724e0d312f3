"""Pipeline stages. Each module has a pure core function and a thin ``main`` that does I/O;
dvc.yaml runs them as ``python -m mlops.stages.<name>``."""

import os

# OpenMP threads (histogram gradient boosting's fit and predict) sleep while they wait for each
# other instead of spinning: on a 2-core machine with other work on it, spinning tripled the
# train stage's time at a million rows (benchmarks/README.md). The model is the same bytes
# either way. Set before scikit-learn loads OpenMP (this package is imported first); a value
# already in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
