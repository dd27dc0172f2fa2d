"""Global options may follow the command; the hoisting table matches the root command's options."""

from __future__ import annotations

import pytest
import typer

from rivetctl.cli.app import app
from rivetctl.cli.argv import GLOBAL_OPTIONS, hoist_global_options


def test_table_matches_root_command() -> None:
    root = typer.main.get_command(app)
    declared: dict[str, bool] = {}
    for param in root.params:
        if getattr(param, "is_eager", False) and "--version" in param.opts:
            continue
        if "--help" in param.opts:
            continue
        for opt in param.opts:
            declared[opt] = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
    assert declared == GLOBAL_OPTIONS


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
    assert hoist_global_options(argv) == expected
