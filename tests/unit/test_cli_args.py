"""The command-line grammar: keys, addresses, action arguments, params."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rivetctl.errors import ConfigError
from rivetctl.frontend.args import parse_address, parse_args, parse_key, parse_param, parse_value
from rivetctl.protocol.values import UNDEFINED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my-counter", ["my-counter"]),
        ('["org-1","general"]', ["org-1", "general"]),
        ("[]", []),
        ("a,b", ["a,b"]),
        ("@@literal", ["@literal"]),
        ("@abc123", "abc123"),
        ("5", ["5"]),
    ],
)
def test_parse_key(text: str, expected: object) -> None:
    assert parse_key(text) == expected


@pytest.mark.parametrize("text", ["[1,2]", "[not json", '["a", 1]', "@"])
def test_bad_keys(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_key(text)


def test_address_by_id_and_by_key() -> None:
    assert parse_address("counter", "@xyz").actor_id == "xyz"
    assert parse_address("counter", "k").key == ["k"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("-5", -5),
        ("2.5", 2.5),
        ("true", True),
        ("null", None),
        ('"5"', "5"),
        ('{"a":1}', {"a": 1}),
        ("hello", "hello"),
        ("hello world", "hello world"),
        ('["$BigInt","12345678901234567890"]', 12345678901234567890),
        ('["$Uint8Array","AAEC"]', b"\x00\x01\x02"),
        ("@@at", "@at"),
    ],
)
def test_parse_value(text: str, expected: object) -> None:
    assert parse_value(text) == expected


def test_undefined_tag() -> None:
    assert parse_value('["$Undefined",0]') is UNDEFINED


def test_stdin_and_file(tmp_path: Path) -> None:
    assert parse_value("-", stdin=io.StringIO('{"x": [1, 2]}\n')) == {"x": [1, 2]}
    f = tmp_path / "v.json"
    f.write_text('[1, "two"]')
    assert parse_value(f"@{f}") == [1, "two"]
    with pytest.raises(ConfigError, match="cannot read"):
        parse_value(f"@{tmp_path / 'missing.json'}")
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_value("-", stdin=io.StringIO("not json"))


def test_args_json_then_positional() -> None:
    assert parse_args(["3"], args_json='[1, "a"]') == [1, "a", 3]
    with pytest.raises(ConfigError, match="JSON array"):
        parse_args([], args_json='{"a":1}')
    with pytest.raises(ConfigError, match="one argument"):
        parse_args(["-", "-"], stdin=io.StringIO("1"))


def test_param() -> None:
    assert parse_param("token=secret") == ("token", "secret")
    assert parse_param("n=5") == ("n", 5)
    assert parse_param('obj={"a":1}') == ("obj", {"a": 1})
    with pytest.raises(ConfigError) as info:
        parse_param("nokeyvalue")
    assert "nokeyvalue" not in str(info.value)
