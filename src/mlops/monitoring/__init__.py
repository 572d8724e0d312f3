"""Monitoring: data and prediction drift on logged traffic, canary analysis, live error.

Modules: ``drift`` (logs vs the version's training reference), ``canary`` (canary vs stable on the
server's Prometheus metrics), ``live_error`` (the canary's error on labelled outcomes).
"""
