"""The CBOR layer itself: cbor2 with every tag left to the value model, hostile input gives a one-line
``ProtocolError``, trailing bytes and the nesting limit, the writer's layout facts and refusals; and the one
``$``-tag walker on JSON trees, against a plain specification of the tags."""

from __future__ import annotations

import base64
import json
import re
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
from rivetctl.protocol import cbor
from rivetctl.protocol.cbor import MAX_DEPTH, U64, PairMap
from rivetctl.protocol.values import (
    UNDEFINED,
    JsMap,
    MapItems,
    SetItems,
    Tagged,
    dumps_cbor,
    from_json_compat,
    loads_cbor,
)


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
@given(raw_cbor, st.sampled_from([b"\x00", b"\xff", b"\xf6\xf6"]))
def test_any_item_decodes_or_gives_a_protocol_error_and_trailing_bytes_are_refused(item: bytes, tail: bytes) -> None:
    outcome = _outcome(loads_cbor, item)
    if outcome[0] == "value":
        assert _outcome(loads_cbor, item + tail) == ("error", f"CBOR: {len(tail)} trailing byte(s)")


@GARBAGE
@given(mutated_inputs() | st.sampled_from(CORPUS))
def test_real_and_mutated_frames_decode_or_give_a_protocol_error(data: bytes) -> None:
    _outcome(loads_cbor, data)


@pytest.mark.parametrize("size", [4095, 4096, 4097, 70_000, 1 << 20])
def test_items_larger_than_any_read_buffer_decode_whole(size: int) -> None:
    value = {
        "text": "é" * size,
        "bytes": bytes(range(256)) * (size // 256),
        "list": [{"n": n} for n in range(size // 64)],
    }
    assert loads_cbor(dumps_cbor(value)) == value


# --- where cbor2 on its own would answer differently ---------------------------------------------------


@pytest.mark.parametrize(
    ("hex_", "expected"),
    [
        ("a2616101616102", {"a": 2}),  # a key twice: the last one wins, as in a JS object
        ("a1820102f5", MapItems([([1, 2], True)])),  # an array as a key (cbor2: a tuple)
        ("d90103a2616101616102", JsMap(a=2)),  # a Map with a key twice: the last one wins too
        ("d81e820102", Tagged(30, [1, 2])),  # cbor2: Fraction
        ("d82550" + "00" * 16, Tagged(37, b"\x00" * 16)),  # cbor2: UUID
        ("d81c81d81d00", Tagged(28, [Tagged(29, 0)])),  # cbor2: shared references (cycles)
        ("d9010081d81900", Tagged(256, [Tagged(25, 0)])),  # cbor2: string references
        ("c2820102", Tagged(2, [1, 2])),  # cbor2: an error (a bignum needs bytes)
        ("c1fb41d954fc4007df3b", datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)),  # cbor-x's rounding
        ("c074323032332d31312d31345432323a31333a32305a", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("d9d9f782647373247801", ["ss$x", 1]),  # self-described CBOR is its content
        ("a1c100f5", {datetime(1970, 1, 1, tzinfo=UTC): True}),  # a tag as a map key
        ("a1d90102820102f5", MapItems([({1, 2}, True)])),  # a Set as a map key
        ("d81b836652656745787061616167", Tagged(27, ["RegExp", "a", "g"])),  # cbor-x's RegExp
    ],
)
def test_cbor2_features_stay_out_of_the_value_model(hex_: str, expected: Any) -> None:
    assert _exact(loads_cbor(bytes.fromhex(hex_))) == _exact(expected)


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


def test_nesting_limit() -> None:
    assert loads_cbor(b"\x81" * MAX_DEPTH + b"\x00") is not None
    assert loads_cbor(b"\x81" * MAX_DEPTH + b"\x80") is not None  # an empty array one level down holds nothing
    assert loads_cbor(b"\xd8\x63" * MAX_DEPTH + b"\x00") is not None
    for too_deep in (b"\x81" * (MAX_DEPTH + 1) + b"\x00", b"\xd8\x63" * (MAX_DEPTH + 1) + b"\x00"):
        with pytest.raises(ProtocolError, match="depth"):
            loads_cbor(too_deep)


def test_what_cbor2_raises_becomes_a_protocol_error_but_an_interrupt_stays_one(monkeypatch: Any) -> None:
    def interrupted(_value: Any, _immutable: bool) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setitem(cbor._SEMANTIC, 1, interrupted)
    with pytest.raises(KeyboardInterrupt):
        loads_cbor(b"\xc1\x00")


# --- the writer ----------------------------------------------------------------------------------------


def test_writer_layout() -> None:
    # cbor2's shortest heads, float64 numbers (as cbor-x), 8-byte ids, maps of pairs Python cannot hold.
    tree = {"a": [1.5, U64(7), None, True, b"\x00", cbor2.CBORTag(1, 0), PairMap([(1, "x"), (True, "y")])]}
    body = "fb3ff80000000000001b0000000000000007f6f54100c100a2016178f56179"
    assert cbor.encode(tree).hex() == "a1616187" + body
    assert (
        cbor.encode({"bb": 1.5, "a": [2.5, 1e300]}, canonical=True).hex()
        == "a2616182f94100fb7e37e43c8800759c626262f93e00"
    )


@pytest.mark.parametrize("wrap", [lambda x: [x], lambda x: {"k": x}, lambda x: Tagged(9, x), lambda x: JsMap({0: x})])
def test_writer_nesting_limit(wrap: Any) -> None:
    tree: Any = 0
    for _ in range(MAX_DEPTH):
        tree = wrap(tree)
    dumps_cbor(tree)  # the 0 is MAX_DEPTH levels down
    with pytest.raises(ConfigError, match="nested deeper"):
        dumps_cbor(wrap(tree))


def test_writer_takes_an_empty_container_at_the_limit_and_the_reader_reads_it() -> None:
    tree: Any = []
    for _ in range(MAX_DEPTH):
        tree = [tree]
    assert loads_cbor(dumps_cbor(tree)) == tree


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Tagged(2**64, 0), "2\\*\\*64"),
        (Tagged(-1, 0), "2\\*\\*64"),
        ("\ud800", "UTF-8"),
        (object(), "object"),
    ],
)
def test_writer_refuses_with_config_error(value: Any, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        dumps_cbor({"key": value})
    with pytest.raises(ConfigError):
        cbor.encode({"key": U64(2**64)})


@given(st.one_of(st.integers(-(2**64), 2**64 - 1), st.booleans(), st.none()), st.sampled_from([0, 1, 2, 4, 8]))
def test_lone_small_values_in_any_head_width(value: object, width: int) -> None:
    data = cbor2.dumps(value)
    if isinstance(value, int) and not isinstance(value, bool) and width:
        # the same integer in a wider (non-canonical) head, as some writers produce
        magnitude = value if value >= 0 else -1 - value
        if magnitude < 256**width:
            major = 0x00 if value >= 0 else 0x20
            data = bytes([major | {1: 0x18, 2: 0x19, 4: 0x1A, 8: 0x1B}[width]]) + magnitude.to_bytes(width, "big")
    assert _exact(loads_cbor(data)) == _exact(value)


# --- JSON trees: the walker against a plain specification of the $ tags ------------------------------------

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


def _specified(node: Any) -> Any:
    """What a JSON tree means, written as plainly as possible (copying, no depth limit, no fast paths)."""
    if isinstance(node, dict):
        return {key: _specified(item) for key, item in node.items()}
    if not isinstance(node, list):
        return node
    if not (len(node) == 2 and isinstance(node[0], str) and node[0].startswith("$")):
        return [_specified(item) for item in node]
    name, payload = node
    if name == "$BigInt":
        if isinstance(payload, str) and re.fullmatch("-?[0-9]+", payload):
            try:
                return int(payload)
            except ValueError:
                raise ProtocolError("$BigInt") from None
        if isinstance(payload, int) and not isinstance(payload, bool):
            return payload
        raise ProtocolError("$BigInt")
    if name in ("$Uint8Array", "$ArrayBuffer"):
        if not isinstance(payload, str):
            raise ProtocolError(name)
        try:
            return base64.b64decode(payload + "=" * (-len(payload) % 4), altchars=b"-_", validate=True)
        except ValueError:
            raise ProtocolError(name) from None
    if name == "$Undefined":
        _specified(payload)
        return UNDEFINED
    if name == "$Set":
        if not isinstance(payload, list):
            raise ProtocolError(name)
        items = [_specified(item) for item in payload]
        try:
            return set(items) if len(set(items)) == len(items) else SetItems(items)
        except TypeError:
            return SetItems(items)
    return [name[1:] if name.startswith("$$") else name, _specified(payload)]


@GARBAGE
@given(_json_trees)
def test_json_walker_gives_what_the_specification_says(tree: Any) -> None:
    text = json.dumps(tree)
    assert (
        _outcome(lambda t: from_json_compat(json.loads(t)), text)[0]
        == _outcome(lambda t: _specified(json.loads(t)), text)[0]
    )
    if _outcome(lambda t: _specified(json.loads(t)), text)[0] == "value":
        assert _exact(from_json_compat(json.loads(text))) == _exact(_specified(json.loads(text)))


def _nested(depth: int, leaf: Any) -> Any:
    tree = leaf
    for i in range(depth):
        tree = [tree] if i % 2 else {"k": tree}
    return tree


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
@pytest.mark.parametrize("leaf", [1, [], {}, ["$BigInt", "5"], [["$BigInt", "5"]]])
def test_json_walker_keeps_the_nesting_limit(depth: int, leaf: Any) -> None:
    text = json.dumps(_nested(depth, leaf))
    outcome = _outcome(lambda t: from_json_compat(json.loads(t)), text)
    deepest = depth + 1 if leaf == [["$BigInt", "5"]] else depth  # a tagged pair's payload is not a level
    assert outcome[0] == ("error" if deepest > MAX_DEPTH else "value")
    if outcome[0] == "value":
        assert _exact(from_json_compat(json.loads(text))) == _exact(_specified(json.loads(text)))
