"""Which metrics are better smaller: a name list kept apart from ``mlops.evaluation.scoring``
(numpy) so the gates and reports that only compare recorded figures import no model stack."""

from __future__ import annotations

LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "brier", "ece"})

# each task's headline metric: adopt's gates and the default live bar follow it
HEADLINE = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}
