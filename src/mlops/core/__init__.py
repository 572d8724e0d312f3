"""Foundation shared by every package: errors, paths, git and dvc subprocesses, small I/O."""
