"""The CLI reference: every command of the typer app, walked through its click tree."""

from __future__ import annotations

import inspect
from typing import Any

from page import HEADER, code, prose, table


def cli_commands() -> list[tuple[list[str], Any, Any]]:
    """(path, command, context) for every leaf command of ``mlops``, in name order."""
    import typer.main

    from mlops.cli import app

    root = typer.main.get_command(app)
    found: list[tuple[list[str], Any, Any]] = []

    def walk(cmd: Any, path: list[str], parent: Any) -> None:
        ctx = cmd.context_class(cmd, info_name=path[-1], parent=parent)
        subs = getattr(cmd, "commands", None)
        if subs is None:
            found.append((path[1:], cmd, ctx))
            return
        for name in sorted(subs):
            walk(subs[name], [*path, name], ctx)

    walk(root, ["mlops"], None)
    return found


def group_help() -> dict[str, str]:
    """``mlops`` and each command group's help text."""
    import typer.main

    from mlops.cli import app

    root = typer.main.get_command(app)
    out = {"mlops": root.help or ""}
    for name, cmd in root.commands.items():
        if getattr(cmd, "commands", None) is not None:
            out[f"mlops {name}"] = cmd.help or ""
    return out


def cli_page() -> str:
    parts = [HEADER.format(source="the typer app in src/mlops/cli.py"), "# CLI reference\n\n"]
    parts.append(prose(group_help()["mlops"]) + "\n\n")
    parts.append(
        "Every command below, as `mlops COMMAND --help` prints it. A user mistake ends with one "
        "`error:` line naming the file, key and value, and a non-zero exit.\n\n"
    )
    groups = {k: v for k, v in group_help().items() if k != "mlops"}
    if groups:
        parts.append(table(["group", "what it holds"], [[code(k), v] for k, v in groups.items()]))
        parts.append("\n")
    for path, cmd, ctx in cli_commands():
        name = "mlops " + " ".join(path)
        parts.append(f"## `{name}`\n\n")
        parts.append(prose(inspect.cleandoc(cmd.help or "")) + "\n\n")
        parts.append(f"```text\n{cmd.get_usage(ctx).strip()}\n```\n\n")
        rows = []
        for param in cmd.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None or param.name == "help":
                continue
            kind = "argument" if param.param_type_name == "argument" else "option"
            rows.append([code(record[0]), kind, record[1]])
        if rows:
            parts.append(table(["name", "kind", "help"], rows) + "\n")
    return "".join(parts)
