"""RFC 7396 JSON merge patch: the test vectors of the RFC's appendix A."""

from __future__ import annotations

from typing import Any

import pytest

from rivetctl.errors import ConfigError
from rivetctl.frontend.state_edit import check_plain_json, merge_patch

VECTORS: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), VECTORS)
def test_rfc7396_vectors(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_the_target_is_not_modified() -> None:
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


@pytest.mark.parametrize("value", [["$BigInt", "5"], {"x": ["$Uint8Array", "AAE="]}, float("nan")])
def test_values_the_inspector_would_mangle_are_refused(value: Any) -> None:
    with pytest.raises(ConfigError):
        check_plain_json(value, "--set")


def test_an_escaped_dollar_string_is_plain_json() -> None:
    check_plain_json(["$$literal", 1], "--set")
