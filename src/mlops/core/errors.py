"""One exception family for every mistake a user can make.

The CLI turns an ``MlopsError`` into one clear line on stderr and its ``exit_code``;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class MlopsError(Exception):
    """A user-facing error: the message says what is wrong and what to do."""

    exit_code = 2


class ConfigError(MlopsError):
    """A config file (params, models.yaml, environments/*.yaml) holds a bad value."""

    def __init__(self, path: str | Path, key: str, problem: str, hint: str = "", value=...):
        where = f"{path}: {key}" if key else str(path)
        shown = "" if value is ... else f" = {value!r}"
        message = f"{where}{shown}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)
        self.path, self.key, self.problem = str(path), key, problem


class DataValidationError(MlopsError):
    """The data failed the schema; the message lists every failing check."""

    exit_code = 1


class NotFoundError(MlopsError):
    """Something the command needs (a file, a version, a revision) does not exist."""
