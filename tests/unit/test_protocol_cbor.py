"""The CBOR layer itself: cbor2's fast path gives exactly what the pure reader gives, hostile input gives a
one-line ``ProtocolError``, and the writer keeps cbor-x's layout and the nesting limit."""

from __future__ import annotations

import enum
import json
import struct
from datetime import UTC, datetime
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_protocol_fuzz import CORPUS, mutated_inputs
from test_protocol_strategies import GARBAGE

from rivetctl.errors import ConfigError, ProtocolError
from rivetctl.protocol import cbor_read, revive
from rivetctl.protocol.cbor import MAX_DEPTH, U32, U64, Pairs, Raw, Tag, encode_tree
from rivetctl.protocol.values import UNDEFINED, MapItems, Tagged, loads_cbor


def _pure(data: bytes) -> Any:
    """The pure reader alone: the authority the cbor2 path must agree with."""
    return revive._revive(cbor_read.decode(data, undefined=UNDEFINED), 0)


def _exact(value: Any) -> Any:
    """A comparable picture of a value: types, order, and float bits (NaN payloads too)."""
    if isinstance(value, float):
        return ("float", struct.pack(">d", value))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_exact(item) for item in value])
    if isinstance(value, dict):
        return (type(value).__name__, [(_exact(k), _exact(v)) for k, v in value.items()])
    if isinstance(value, set | frozenset):
        return (type(value).__name__, sorted(repr(_exact(item)) for item in value))
    if isinstance(value, Tagged):
        return ("Tagged", value.tag, _exact(value.value))
    return (type(value).__name__, repr(value))


def _outcome(decode: Any, data: bytes) -> Any:
    try:
        return ("value", _exact(decode(data)))
    except ProtocolError as exc:
        return ("error", str(exc))


def _arg(major: int, value: int, width: int) -> bytes:
    """A head with ``value`` in at least ``width`` bytes (0: in the initial byte when it fits)."""
    for size, info in ((0, value), (1, 24), (2, 25), (4, 26), (8, 27)):
        if size >= width and value < (24 if size == 0 else 1 << (8 * size)):
            return bytes([major << 5 | info]) + (value.to_bytes(size, "big") if size else b"")
    raise ValueError(value)


_widths = st.sampled_from([0, 0, 1, 2, 4, 8])
_TAGS = [0, 1, 2, 3, 4, 5, 24, 25, 28, 29, 30, 35, 37, 64, 256, 258, 259, 260, 1004, 43000, 55799, 999]
_PAIR_NAMES = ["$BigInt", "$Set", "$Uint8Array", "$ArrayBuffer", "$Undefined", "$$x", "$$$y", "$zz", "$"]
_FLOAT_SIZES = {0xF9: 2, 0xFA: 4, 0xFB: 8}
_ODD = [b"\xf4", b"\xf5", b"\xf6", b"\xf7", b"\xf0", b"\xf8\x20", b"\xff", b"\x62\xc3\x28", b"\x7f\x7f\xff\xff"]
_cbor_leaves = st.one_of(
    st.builds(_arg, st.sampled_from([0, 1]), st.integers(0, 2**64 - 1), _widths),
    st.binary(max_size=6).flatmap(lambda b: _widths.map(lambda w: _arg(2, len(b), w) + b)),
    st.text(max_size=5).map(lambda s: _arg(3, len(s.encode()), 0) + s.encode()),
    st.sampled_from(_ODD),
    st.sampled_from(sorted(_FLOAT_SIZES)).flatmap(
        lambda h: st.binary(min_size=_FLOAT_SIZES[h], max_size=_FLOAT_SIZES[h]).map(lambda b: bytes([h]) + b)
    ),
    st.lists(st.binary(max_size=3), max_size=3).map(
        lambda cs: b"\x5f" + b"".join(_arg(2, len(c), 0) + c for c in cs) + b"\xff"
    ),
)


def _cbor_containers(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    items = st.lists(children, max_size=3)
    pairs = st.lists(st.tuples(children | st.sampled_from([b"\x01", b"\xf5", b"\x61a"]), children), max_size=3)
    return st.one_of(
        st.builds(lambda xs, w: _arg(4, len(xs), w) + b"".join(xs), items, _widths),
        items.map(lambda xs: b"\x9f" + b"".join(xs) + b"\xff"),
        st.builds(lambda ps, w: _arg(5, len(ps), w) + b"".join(k + v for k, v in ps), pairs, _widths),
        pairs.map(lambda ps: b"\xbf" + b"".join(k + v for k, v in ps) + b"\xff"),
        st.builds(lambda t, x: _arg(6, t, 0) + x, st.sampled_from(_TAGS), children),
        st.builds(lambda n, x: b"\x82" + _arg(3, len(n), 0) + n.encode() + x, st.sampled_from(_PAIR_NAMES), children),
    )


raw_cbor = st.recursive(_cbor_leaves, _cbor_containers, max_leaves=12)


@GARBAGE
@given(raw_cbor, st.sampled_from([b"", b"", b"\x00", b"\xff"]))
def test_cbor2_path_gives_exactly_what_the_pure_reader_gives(item: bytes, tail: bytes) -> None:
    data = item + tail
    assert _outcome(loads_cbor, data) == _outcome(_pure, data)


@GARBAGE
@given(mutated_inputs() | st.sampled_from(CORPUS))
def test_cbor2_path_agrees_on_real_and_mutated_frames(data: bytes) -> None:
    assert _outcome(loads_cbor, data) == _outcome(_pure, data)


# --- where cbor2 on its own would answer differently ---------------------------------------------------

NAN_PAYLOAD = struct.unpack(">e", b"\x7e\x01")[0]


@pytest.mark.parametrize(
    ("hex_", "expected"),
    [
        ("a2616101616102", {"a": 2}),  # a key twice: the last one wins, as in a JS object
        ("a2016161f56162", MapItems([(1, "a"), (True, "b")])),  # 1 and true are one dict key in Python
        ("a1820102f5", MapItems([([1, 2], True)])),  # an array as a key (cbor2: a tuple)
        ("d90103a2016161f56162", MapItems([(1, "a"), (True, "b")])),  # a Map keeps both
        ("d90103a2616101616102", MapItems([("a", 1), ("a", 2)])),  # a Map with a key twice keeps both too
        ("d81e820102", Tagged(30, [1, 2])),  # cbor2: Fraction
        ("d82550" + "00" * 16, Tagged(37, b"\x00" * 16)),  # cbor2: UUID
        ("d81c81d81d00", Tagged(28, [Tagged(29, 0)])),  # cbor2: shared references (cycles)
        ("d9010081d81900", Tagged(256, [Tagged(25, 0)])),  # cbor2: string references
        ("c2820102", Tagged(2, [1, 2])),  # cbor2: an error (a bignum needs bytes)
        ("c1fb41d954fc4007df3b", datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)),  # cbor-x's rounding
        ("d9d9f782647373247801", ["ss$x", 1]),  # self-described CBOR is its content
    ],
)
def test_cbor2_features_stay_out_of_the_value_model(hex_: str, expected: Any) -> None:
    data = bytes.fromhex(hex_)
    assert _exact(loads_cbor(data)) == _exact(expected) == _exact(_pure(data))


def test_half_float_nan_keeps_the_pure_readers_bits() -> None:
    assert struct.pack(">d", loads_cbor(b"\xf9\x7e\x01")) == struct.pack(">d", NAN_PAYLOAD)


# --- hostile input -----------------------------------------------------------------------------------

HOSTILE = {
    "deep arrays": b"\x81" * 100_000 + b"\x00",
    "deep maps": b"\xa1\x61a" * 50_000 + b"\x00",
    "deep tags": b"\xd9\x01\x03" * 50_000 + b"\x00",
    "deep indefinite arrays": b"\x9f" * 50_000 + b"\xff" * 50_000,
    "array one level too deep": b"\x81" * (MAX_DEPTH + 1) + b"\x00",
    "array of 2**64 items": b"\x9b" + b"\xff" * 8,
    "map of 2**64 pairs": b"\xbb" + b"\xff" * 8,
    "4 GiB byte string": b"\x5a\xff\xff\xff\xff",
    "2**64 text string": b"\x7b" + b"\xff" * 8 + b"a",
    "indefinite string with 2**64 chunk": b"\x5f\x5b" + b"\xff" * 8,
    "invalid utf-8": b"\x62\xc3\x28",
    "utf-8 surrogate": b"\x63\xed\xa0\x80",
    "reserved additional info": b"\x1c",
    "indefinite integer": b"\x1f",
    "indefinite tag": b"\xdf\x00",
    "lone break": b"\xff",
    "break in a definite array": b"\x81\xff",
    "simple value": b"\xf8\x20",
    "simple value inside undefined": b"\x82\x6a$Undefined\xf0",
    "unterminated indefinite map": b"\xbf\x61a",
    "map key without value": b"\xbf\x61a\xff",
    "bytes chunk in a text string": b"\x7f\x41a\xff",
    "trailing bytes": b"\x00\x00",
    "truncated float": b"\xfb\x00",
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_cbor_gives_one_line_protocol_error(name: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        loads_cbor(HOSTILE[name])
    assert "\n" not in str(caught.value)


def test_nesting_limit_is_the_pure_readers() -> None:
    assert loads_cbor(b"\x81" * MAX_DEPTH + b"\x00") is not None  # one level more than cbor2 is let read
    # The pure reader counts the chunks of an indefinite-length string as a level; cbor2 does not.
    assert loads_cbor(b"\x81" * (MAX_DEPTH - 1) + b"\x5f\x41a\xff") is not None
    with pytest.raises(ProtocolError, match="nested deeper"):
        loads_cbor(b"\x81" * MAX_DEPTH + b"\x5f\x41a\xff")


# --- the writer ----------------------------------------------------------------------------------------


class _Color(enum.IntEnum):
    RED = 300


class _Name(str):
    pass


def test_writer_layouts() -> None:
    tree = {"a": [1.5, U32(7), U64(7), None, True, b"\x00", Tag(1, 0), Pairs([(1, "x")]), Raw(b"\xf7")]}
    body = "fb3ff80000000000001a000000071b0000000000000007f6f541" + "00c100a10161" + "78f7"
    assert encode_tree(tree, "js").hex() == "b9000161618" + "9" + body
    assert encode_tree(tree, "canonical").hex() == "a161618" + "9" + body.replace("fb3ff8000000000000", "f93e00")
    assert encode_tree([_Color.RED, _Name("é"), -(2**64)], "js").hex() == "8319012c62c3a93bffffffffffffffff"


@pytest.mark.parametrize("wrap", [lambda x: [x], lambda x: {"k": x}, lambda x: Tag(9, x), lambda x: Pairs([(0, x)])])
def test_writer_nesting_limit(wrap: Any) -> None:
    tree: Any = 0
    for _ in range(MAX_DEPTH):
        tree = wrap(tree)
    encode_tree(tree)  # the 0 is MAX_DEPTH levels down
    with pytest.raises(ConfigError, match="nested deeper"):
        encode_tree(wrap(tree))


def test_writer_takes_an_empty_container_at_the_limit() -> None:
    tree: Any = []
    for _ in range(MAX_DEPTH):
        tree = [tree]
    encode_tree(tree)


@pytest.mark.parametrize(
    ("tree", "problem"),
    [
        (2**64, "64 bits"),
        (Tag(2**64, 0), "64 bits"),
        (Tag(-1, 0), "64 bits"),
        ("\ud800", "UTF-8"),
        (object(), "object"),
    ],
)
def test_writer_refuses_with_config_error(tree: Any, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        encode_tree({"key": tree})


@given(st.one_of(st.integers(-(2**32), 2**32 - 1), st.booleans(), st.none()), st.sampled_from([0, 1, 2, 4]))
def test_lone_small_values_read_directly_match_the_full_reader(value: object, width: int) -> None:
    data = cbor2.dumps(value)
    if isinstance(value, int) and not isinstance(value, bool) and width:
        # the same integer in a wider (non-canonical) head, as some writers produce
        magnitude = value if value >= 0 else -1 - value
        if magnitude < 256**width:
            major = 0x00 if value >= 0 else 0x20
            data = bytes([major | {1: 0x18, 2: 0x19, 4: 0x1A}[width]]) + magnitude.to_bytes(width, "big")
    assert loads_cbor(data) == revive.revive_cbor(data)
    assert type(loads_cbor(data)) is type(revive.revive_cbor(data))


# --- JSON trees: revived in place, exactly as the copying reviver does ----------------------------------------

_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(["$BigInt", "$Set", "$Undefined", "$Uint8Array", "$$x", "$Map", "-12", "AAE=", "!"])
)
_json_trees = st.recursive(
    _json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(st.sampled_from(["$BigInt", "$Set", "$Undefined", "$Uint8Array", "$$x", "$Date"]), children).map(
            list
        )
        | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


def _nested(depth: int, leaf: Any) -> Any:
    tree = leaf
    for i in range(depth):
        tree = [tree] if i % 2 else {"k": tree}
    return tree


@GARBAGE
@given(_json_trees)
def test_json_tree_revived_in_place_gives_what_the_copying_reviver_gives(tree: Any) -> None:
    text = json.dumps(tree)
    assert _outcome(lambda t: revive.revive_parsed_json(json.loads(t)), text) == _outcome(
        lambda t: revive.revive_json(json.loads(t)), text
    )


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
@pytest.mark.parametrize("leaf", [1, [], {}, ["$BigInt", "5"], [["$BigInt", "5"]]])
def test_json_tree_revived_in_place_keeps_the_nesting_limit(depth: int, leaf: Any) -> None:
    text = json.dumps(_nested(depth, leaf))
    in_place = _outcome(lambda t: revive.revive_parsed_json(json.loads(t)), text)
    assert in_place == _outcome(lambda t: revive.revive_json(json.loads(t)), text)
    deepest = depth + 1 if leaf == [["$BigInt", "5"]] else depth  # a tagged pair's payload is not a level
    assert in_place[0] == ("error" if deepest > MAX_DEPTH else "value")
