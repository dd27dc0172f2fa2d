"""Command-line preprocessing before click parses it: global options may also follow the command."""

from __future__ import annotations

GLOBAL_OPTIONS: dict[str, bool] = {
    # option → takes a value. Kept in step with ``root()`` by tests/unit/test_cli_hoist.py.
    "-e": True, "--endpoint": True, "-n": True, "--namespace": True, "--token": True, "--encoding": True,
    "--profile": True, "-o": True, "--output": True, "--timeout": True, "--param": True, "--params": True,
    "-v": False, "--verbose": False, "--no-color": False, "--insecure": False, "--cacert": True,
    "--traceback": False,
}  # fmt: skip


def hoist_global_options(args: list[str]) -> list[str]:
    """Let global options follow the command (``rivetctl get counter k -o json``): move them to the front.

    Options the command defines itself (``config set --endpoint``) stay where they are, and nothing after
    ``--`` moves (so ``call ... -- -o`` passes ``-o`` to the action).
    """
    front: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        takes = _global_takes_value(args[i])
        front.append(args[i])
        if takes and "=" not in args[i] and i + 1 < len(args):
            front.append(args[i + 1])
            i += 1
        i += 1
    if i >= len(args):
        return args
    command, rest = args[i], args[i + 1 :]
    own = _COMMAND_OWN_OPTIONS.get(command, frozenset())
    moved: list[str] = []
    kept: list[str] = []
    j = 0
    while j < len(rest):
        token = rest[j]
        if token == "--":
            kept.extend(rest[j:])
            break
        takes = _global_takes_value(token)
        if takes is not None and token.split("=", 1)[0] not in own:
            moved.append(token)
            if takes and "=" not in token and j + 1 < len(rest):
                moved.append(rest[j + 1])
                j += 1
        else:
            kept.append(token)
        j += 1
    return [*front, *moved, command, *kept]


_COMMAND_OWN_OPTIONS = {"config": frozenset({"--endpoint", "--namespace", "--token", "--encoding", "--param"})}


def _global_takes_value(token: str) -> bool | None:
    """Whether ``token`` is a global option and takes a value (``None``: not a global option)."""
    name = token.split("=", 1)[0]
    if name in GLOBAL_OPTIONS:
        return GLOBAL_OPTIONS[name]
    if len(token) > 2 and token[0] == "-" and token[1] != "-":
        if set(token[1:]) == {"v"}:
            return False  # -vv, -vvv
        if token[:2] in ("-o", "-e", "-n"):
            return False  # -ojson: value attached
    return None
