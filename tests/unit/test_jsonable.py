"""Display conversion of actor values."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from rivetctl.output.jsonable import escape_control, jsonable
from rivetctl.protocol.values import UNDEFINED


def test_whole_floats_show_as_integers_like_javascript() -> None:
    assert jsonable(1795901724978.0) == 1795901724978
    assert isinstance(jsonable(1795901724978.0), int)
    assert jsonable(2.5) == 2.5
    assert jsonable(float(2**60)) == float(2**60)
    assert jsonable(math.inf) == "inf"


def test_tags_for_non_json_values() -> None:
    assert jsonable(b"\x00\x01") == ["$Uint8Array", "AAE="]
    assert jsonable(UNDEFINED) == ["$Undefined", 0]
    assert jsonable({1}) == ["$Set", [1]]
    assert jsonable(["$x", 1]) == ["$$x", 1]
    assert jsonable(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00+00:00"
    assert jsonable({1: "a"}) == {"1": "a"}


def test_escape_control() -> None:
    assert escape_control("a\x1b[31mred\x07") == "a\\x1b[31mred\\x07"
    assert escape_control("tab\tand\nnewline") == "tab\tand\nnewline"
