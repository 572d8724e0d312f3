"""`mlops serve`: a GitOps controller for one environment plus a fast inference server.

Modules by concern: ``controller`` (reconcile Git's desired state into loaded models),
``routing`` (the immutable snapshot a request uses, canary split), ``batcher`` (adaptive
micro-batching), ``validation`` (requests checked against ``mlops.formats.schema.COLUMNS``),
``metrics``, ``predlog_writer``, ``coordination`` (several worker processes agree on one state),
``app`` (the ASGI app), ``launcher`` (start/stop a server from code) and ``cli``.
"""
