"""The pull-request report: what a change did to the model, the data and the serving budget.

``collect`` gathers the facts (base results from Git at a revision, the workspace's results,
gates, drift, cost, live versions) into plain dataclasses; ``render`` turns them into the
markdown CML posts. Each section lives in its own module; a section that cannot be built says
what is missing and why instead of failing the report.

Entry points: ``mlops.report.collect.build`` (write it) and ``collect`` (the facts only).
Nothing heavy is imported here, so every other ``mlops`` command stays quick to start.
"""
