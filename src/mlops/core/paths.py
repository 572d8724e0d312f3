"""Where each file of the pipeline lives, relative to the repository root.

dvc.yaml names the same paths (a test keeps the two in step); code never spells them out.
The data table's path is the contract's ``data``
(``mlops.formats.contract.load_contract(root).data``).
"""

DATA_DIR = "data"
CONTRACT = "contract.yaml"
DATA_DVC = "data.dvc"
TRAIN = "artifacts/split/train.csv"
HOLDOUT = "artifacts/split/holdout.csv"
VALIDATION_SPLIT = "artifacts/split/validation.csv"  # training-side rows for the threshold
ROW_IDS = "artifacts/split/row_ids.csv"  # every row's identity and side (mlops.stages.split)
MODEL = "artifacts/model.skops"
PREDICTIONS = "artifacts/predictions.csv"
VALIDATION = "reports/validation.json"
METRICS = "reports/metrics.json"
SLICES = "reports/slices.json"
BASELINES = "reports/baselines.json"  # trivial and linear models on the same holdout
SERVING = "reports/serving.json"
MODEL_CARD = "reports/model_card.md"
PLOTS = "reports/plots"
FIGURES = "reports/figures"
# `mlops report` writes the PR comment here, its PNGs next to it (gitignored: CI-generated)
PR_REPORT = "reports/pr/pr-report.md"
MODELS_FILE = "models.yaml"
ENVIRONMENTS = "environments"
