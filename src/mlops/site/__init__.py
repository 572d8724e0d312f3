"""`mlops site`: the model registry as one static page built from Git.

``build.build(root, out)`` gathers the data (``collect``), renders ``index.html`` (``render``), and
writes it with ``registry.json`` (the same data, machine-readable) and the latest drift reports
beside it. Nothing on the page is loaded from a network, so it works offline and on GitHub Pages.
"""
