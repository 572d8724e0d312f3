"""`--dist loadgroup` sends the tests of one ``xdist_group`` to one worker by a suffix on their
node ids; pytest-xdist 3.8 sets it on an attribute pytest 9.2 no longer reads, so groups were
spread over both workers (each building or starting what the group shares). This plugin sets it
where pytest reads it, after xdist's own hook and after the `-m` selection (which must see the
marks tests/conftest.py adds first); nothing to do where xdist already did."""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        group = item.get_closest_marker("xdist_group")
        if group is None or "@" in item.nodeid.rsplit("]", 1)[-1]:
            continue
        item._id = NodeId.parse(f"{item.nodeid}@{group.args[0]}")
