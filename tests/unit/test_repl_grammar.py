"""The REPL / script line grammar."""

from __future__ import annotations

import pytest

from rivetctl.errors import ConfigError
from rivetctl.repl.grammar import Call, Dot, Empty, is_secret_line, parse_line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("increment 5", Call("increment", [5])),
        ("  getCount  ", Call("getCount", [])),
        ("sendMessage alice 'hello world'", Call("sendMessage", ["alice", "hello world"])),
        ("echo '{\"a\": 1}' true", Call("echo", [{"a": 1}, True])),
        ('{"action": "increment", "args": [2]}', Call("increment", [2])),
        ("", Empty()),
        ("# comment", Empty()),
        (".sub newCount tick", Dot(".sub", ["newCount", "tick"], "newCount tick")),
        (".QUIT", Dot(".quit", [], "")),
    ],
)
def test_parse(line: str, expected: object) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [".nope", "echo 'unterminated", '{"action": 1}', '{"action": "x", "args": 3}', "{bad json", "echo -"],
)
def test_errors(line: str) -> None:
    with pytest.raises(ConfigError):
        parse_line(line)


def test_secret_lines() -> None:
    assert is_secret_line('.params {"token": "x"}')
    assert is_secret_line("login mytoken=abc")
    assert not is_secret_line("increment 5")
