"""Closing the loop: the outcomes that arrive after a prediction, and what they tell us.

- ``outcomes``: `mlops outcomes ingest` checks a file of ``request_id`` + target against the
  contract and stores it in a DVC-tracked folder, ``outcomes/<env>/``.
- ``join``: logged predictions joined to their outcomes by request id (one definition, read by
  `mlops performance` and `mlops data refresh`).
- ``intervals``: confidence intervals of the live metrics.
- ``performance``: `mlops performance`, live metrics per version and route against thresholds.
- ``render``: its markdown and HTML.
- ``cli``: the commands.
"""
