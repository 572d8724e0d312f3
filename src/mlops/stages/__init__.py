"""Pipeline stages. Each module has a pure core function and a thin ``main`` that does I/O;
dvc.yaml runs them as ``python -m mlops.stages.<name>`` (importing ``mlops`` first, which sets
how OpenMP threads wait)."""
