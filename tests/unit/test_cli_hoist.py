"""Global options may follow the command; the hoisting table matches the root command's options."""

from __future__ import annotations

import pytest
import typer

from rivetctl.cli.app import app
from rivetctl.cli.argv import command_options, hoist_global_options, option_table

ROOT = typer.main.get_command(app)
GLOBAL = option_table(ROOT.params)


def _own(name: str) -> set[str]:
    return command_options(ROOT.get_command(typer.Context(ROOT), name))


def test_table_is_read_from_the_root_command() -> None:
    assert GLOBAL["--endpoint"] is True and GLOBAL["-e"] is True and GLOBAL["-o"] is True
    assert GLOBAL["-v"] is False and GLOBAL["--insecure"] is False and GLOBAL["--traceback"] is False
    assert "--help" not in GLOBAL and "--version" not in GLOBAL
    assert {"--endpoint", "--namespace", "--token", "--encoding", "--param"} <= _own("config")
    assert "--endpoint" not in _own("call")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["get", "counter", "k", "-o", "json"], ["-o", "json", "get", "counter", "k"]),
        (["get", "counter", "k", "--output=yaml"], ["--output=yaml", "get", "counter", "k"]),
        (["-v", "call", "c", "k", "inc", "-vv", "5"], ["-v", "-vv", "call", "c", "k", "inc", "5"]),
        (["call", "c", "k", "echo", "-5"], ["call", "c", "k", "echo", "-5"]),
        (["call", "c", "k", "echo", "--", "-o", "x"], ["call", "c", "k", "echo", "--", "-o", "x"]),
        (
            ["config", "set", "p", "--endpoint", "http://x", "-o", "json"],
            ["-o", "json", "config", "set", "p", "--endpoint", "http://x"],
        ),
        (
            ["--timeout", "3", "watch", "c", "k", "e", "--param", "a=1"],
            ["--timeout", "3", "--param", "a=1", "watch", "c", "k", "e"],
        ),
        (["--version"], ["--version"]),
        ([], []),
    ],
)
def test_hoist(argv: list[str], expected: list[str]) -> None:
    assert hoist_global_options(argv, GLOBAL, _own) == expected
