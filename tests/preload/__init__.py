"""A preloading launcher for the Python programs the suite starts (`dvc`, `python -m
mlops.stages.X`): one server per pytest worker imports them once and forks a child per call, so
each call runs the same program with its own argv, cwd, environment and stdio without paying the
interpreter's start-up and imports again. MLOPS_TEST_PRELOAD=0 turns it off."""
