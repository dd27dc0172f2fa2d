"""Command-line preprocessing before click parses it: global options may also follow the command."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable


def option_table(params: Iterable[Any]) -> dict[str, bool]:
    """Option spelling → whether it takes a value, for click parameters (read from their public attributes:
    ``opts``, ``secondary_opts``, ``is_flag``, ``count``); arguments, ``--help`` and ``--version`` left out."""
    table: dict[str, bool] = {}
    for param in params:
        if getattr(param, "param_type_name", "") != "option" or getattr(param, "is_eager", False):
            continue
        takes = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
        for opt in [*param.opts, *getattr(param, "secondary_opts", [])]:
            table[opt] = takes
    return table


def hoist_global_options(
    args: list[str], global_options: dict[str, bool], own_options: Callable[[str], Iterable[str]]
) -> list[str]:
    """Let global options follow the command (``rivetctl get counter k -o json``): move them to the front.

    ``global_options`` is :func:`option_table` of the root command; ``own_options(command)`` the spellings the
    command (and its sub-commands) define, which stay where they are (``config set --endpoint``). Nothing
    after ``--`` moves (so ``call ... -- -o`` passes ``-o`` to the action).
    """
    front: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        takes = _global_takes_value(args[i], global_options)
        front.append(args[i])
        if takes and "=" not in args[i] and i + 1 < len(args):
            front.append(args[i + 1])
            i += 1
        i += 1
    if i >= len(args):
        return args
    command, rest = args[i], args[i + 1 :]
    own: frozenset[str] | None = None  # built only when a global option follows the command
    moved: list[str] = []
    kept: list[str] = []
    j = 0
    while j < len(rest):
        token = rest[j]
        if token == "--":
            kept.extend(rest[j:])
            break
        takes = _global_takes_value(token, global_options)
        if takes is not None and own is None:
            own = frozenset(own_options(command))
        if takes is not None and own is not None and token.split("=", 1)[0] not in own:
            moved.append(token)
            if takes and "=" not in token and j + 1 < len(rest):
                moved.append(rest[j + 1])
                j += 1
        else:
            kept.append(token)
        j += 1
    return [*front, *moved, command, *kept]


def _global_takes_value(token: str, global_options: dict[str, bool]) -> bool | None:
    """Whether ``token`` is a global option and takes a value (``None``: not a global option)."""
    name = token.split("=", 1)[0]
    if name in global_options:
        return global_options[name]
    if len(token) > 2 and token[0] == "-" and token[1] != "-":
        if set(token[1:]) == {"v"}:
            return False  # -vv, -vvv
        if token[:2] in ("-o", "-e", "-n"):
            return False  # -ojson: value attached
    return None


def command_options(command: Any) -> set[str]:
    """Every option spelling a click command and, for a group, its sub-commands define."""
    found = set(option_table(getattr(command, "params", [])))
    for sub in getattr(command, "commands", {}).values():
        found |= command_options(sub)
    return found
