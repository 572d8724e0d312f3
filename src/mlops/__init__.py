"""The mlops package. Importing it lets OpenMP threads (scikit-learn's gradient boosting, fit and
predict) sleep while they wait for each other instead of spinning: on a 2-core machine with other
work on it (a CI runner, the test suite's two workers), spinning tripled the train stage's time
and made `mlops check`'s scoring about twice as costly, for the same model bytes and scores
(benchmarks/README.md). Set before scikit-learn loads OpenMP, which every command and stage
imports after this package; a value already in the environment wins. The server runs one
OpenMP thread per worker anyway (``mlops.serve.server``)."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
