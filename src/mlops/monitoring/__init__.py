"""Monitoring: data and prediction drift on logged traffic, canary analysis, the demo's ending.

Modules: ``drift`` (logs vs the version's training reference), ``canary`` (canary vs stable on the
server's Prometheus metrics), ``demo`` (drifted traffic to a live server, then the drift report).
"""

from __future__ import annotations


def demo_drift(*args, **kwargs):
    """See :func:`mlops.monitoring.demo.demo_drift` (imported lazily: Evidently is slow to load)."""
    from mlops.monitoring.demo import demo_drift as _demo_drift

    return _demo_drift(*args, **kwargs)
