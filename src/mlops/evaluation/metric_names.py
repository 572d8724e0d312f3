"""Which metrics are better smaller: a name list kept apart from ``mlops.evaluation.scoring``
(numpy) so the gates and reports that only compare recorded figures import no model stack."""

from __future__ import annotations

LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "brier", "ece"})
