"""The value model: the official client's CBOR data model, JSON-compat tags, fallbacks, round trips, refusals."""

from __future__ import annotations

import json
import math
import pickle
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given
from test_protocol_strategies import PROPERTY, bare_values, canon, cbor_model, json_values

from rivetctl.errors import ConfigError, ProtocolError
from rivetctl.protocol.bare import BareReader
from rivetctl.protocol.values import (
    UNDEFINED,
    JsMap,
    MapItems,
    SetItems,
    Tagged,
    Undefined,
    dumps_cbor,
    dumps_cbor_canonical,
    from_json_compat,
    loads_cbor,
    to_json_compat,
)

CAPTURES = Path(__file__).parent.parent / "data" / "captures"
GOLDEN = json.loads((CAPTURES / "cborx-golden-2.3.19.json").read_text())

# The Python value for each vector that cborx_golden.mjs encoded with the official client's encodeCborCompat.
PYTHON = {
    "int0": 0, "int23": 23, "int24": 24, "int255": 255, "int256": 256, "int65535": 65535, "int65536": 65536,
    "u32max": 2**32 - 1, "p2_32": 2**32, "p2_40": 2**40, "maxSafe": 2**53 - 1,
    "neg1": -1, "neg24": -24, "neg25": -25, "neg256": -256, "neg257": -257, "negI32": -(2**31),
    "negI32m1": -(2**31) - 1, "neg2_32": -(2**32), "neg2_32m1": -(2**32) - 1, "float15": 1.5,
    "floatNeg": -2.25, "nan": math.nan, "inf": math.inf, "bigint": 12345678901234567890, "bigNeg": -(2**70),
    "bytes": b"\x00\x01\x02\xfd\xfe\xff", "emptyBytes": b"", "undef": UNDEFINED, "nul": None, "t": True,
    "f": False,
    "set": {1, "two", 3}, "emptySet": set(), "map": JsMap(a=1, b=2), "mapIntKey": {1: "x"},
    "mapBigKey": {2**70: True}, "date": datetime.fromtimestamp(1700000000, UTC),
    "dateMs": datetime.fromtimestamp(1700000000.123, UTC), "dateNeg": datetime.fromtimestamp(-1, UTC),
    "dateEpoch": datetime.fromtimestamp(0, UTC), "object": {"hello": "world", "n": [1, 2]}, "emptyObject": {},
    "emptyArray": [], "dollar": ["$fake", 1], "dollar2": ["$$x", 2], "dollar3": ["$a", 1, 2],
    "dollarNested": [["$a", 1]], "str24": "x" * 24, "str256": "y" * 256, "unicode": "héllo ✓ 🎉",
    "arr24": list(range(24)), "args": [1, "a", {"b": [True, None]}],
    "nested": {"list": [1, 2.5, {"deep": [True, False]}], "empty": {}},
}  # fmt: skip
# JS bigint 5n has no Python twin (a Python 5 is a JS number); sets iterate in hash order.
UNORDERED = {"set", "setOfPair"}


@pytest.mark.parametrize("name", sorted(set(PYTHON) - UNORDERED))
def test_dumps_cbor_writes_the_data_model_the_official_client_writes(name: str) -> None:
    # The same items, numbers of the same CBOR type, tags and $ pairs; only header widths may differ.
    assert cbor_model(dumps_cbor(PYTHON[name])) == cbor_model(bytes.fromhex(GOLDEN[name]))


@pytest.mark.parametrize(
    ("value", "hex_"), [(1.5, "fb3ff8000000000000"), (1.0, "fb3ff0000000000000"), (2**40, "fb4270000000000000")]
)
def test_numbers_are_float64_as_cbor_x_writes_them(value: Any, hex_: str) -> None:
    assert dumps_cbor(value).hex() == hex_  # never a float16/float32, whose rounding differs in cbor-x


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_loads_cbor_reads_every_official_client_vector(name: str) -> None:
    value = loads_cbor(bytes.fromhex(GOLDEN[name]))
    expected = {"bigSmall": 5, "setOfPair": {"$Undefined", 0}}.get(name, PYTHON.get(name))
    if name == "nan":
        assert math.isnan(value)
    else:
        assert canon(value) == canon(expected)


def test_sets_match_the_official_client_up_to_item_order() -> None:
    assert loads_cbor(dumps_cbor({1, "two", 3})) == {1, "two", 3}
    # The items of a Set are not $-escaped as a pair: ["$Set", ["$Undefined", 0]] is a Set of two items.
    assert cbor_model(dumps_cbor(SetItems(["$Undefined", 0]))) == cbor_model(bytes.fromhex(GOLDEN["setOfPair"]))


def test_rvt_input_example_from_the_reference_decodes() -> None:
    # §2.4 shows cbor2's canonical bytes; the official client writes the same map with a 16-bit header.
    assert loads_cbor(bytes.fromhex("a26568656c6c6f65776f726c64616e820102")) == {
        "hello": "world",
        "n": [1, 2],
    }


def test_types_output_of_a_real_actor_decodes_to_python_types() -> None:
    # counter.types() over BARE, captured from rivetkit 2.3.19 (the raw cbor-x bytes of the output).
    raw = next(
        bytes.fromhex(line["hex"])
        for line in map(json.loads, (CAPTURES / "rivetctl-probe-2.3.19.jsonl").read_text().splitlines())
        if line["id"] == "http-types" and line["enc"] == "bare" and line["dir"] == "S>C"
    )
    reader = BareReader(raw)
    assert reader.u16() == 4
    value = loads_cbor(reader.data())
    assert value == {
        "bigint": 12345678901234567890,
        "bytes": b"\x00\x01\x02\xfd\xfe\xff",
        "undef": UNDEFINED,
        "nul": None,
        "set": {1, "two", 3},
        "map": {"a": 1, "b": 2},
        "date": datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        "nested": {"list": [1, 2.5, {"deep": [True, False]}], "empty": {}},
        "unicode": "héllo wörld ✓ 日本語 🎉",
        "dollar": ["$fake", 1],
    }
    assert type(value["map"]) is JsMap
    assert value["undef"] is UNDEFINED


# --- what cbor-x writes natively (an actor or a newer client may send it) -----------------------------


@pytest.mark.parametrize(
    ("hex_", "expected"),
    [
        ("43000102", b"\x00\x01\x02"),  # byte string
        ("d84043000102", b"\x00\x01\x02"),  # tag 64 Uint8Array
        ("f7", UNDEFINED),
        ("1b0000000000000005", 5),  # 64-bit uint (cbor-x: bigint)
        ("c249010000000000000000", 2**64),  # bignum
        ("c349010000000000000000", -(2**64) - 1),
        ("d9010282 0102", {1, 2}),  # tag 258 Set
        ("c0 74 323032332d31312d31345432323a31333a32305a", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("826c2441727261794275666665726441514d3d", b"\x01\x03"),  # $ArrayBuffer
        ("9f0102ff", [1, 2]),  # indefinite array
        ("bf616101ff", {"a": 1}),  # indefinite map
        ("7f6161616aff", "aj"),  # indefinite text
        ("f93e00", 1.5),  # half float (the server's canonical CBOR)
        ("d9d9f705", 5),  # self-described CBOR
        ("a1016178", {1: "x"}),  # plain map with an int key
    ],
)
def test_loads_cbor_understands_native_cbor_x_forms(hex_: str, expected: Any) -> None:
    assert loads_cbor(bytes.fromhex(hex_.replace(" ", ""))) == expected


MAP_ARRAY_KEY = "d90103a1820102f5"  # new Map([[[1, 2], true]])
MAP_COLLIDING_KEYS = "d90103a2016161f56162"  # new Map([[1, "a"], [true, "b"]])
SET_OF_ARRAY = "82642453657481820102"  # new Set([[1, 2]])
SET_COLLIDING = "8264245365748201f5"  # new Set([1, true])
REGEXP = "d81b836652656745787061616167"  # cbor-x: /a/g


def test_fallbacks_for_values_python_cannot_hold() -> None:
    assert loads_cbor(bytes.fromhex(MAP_ARRAY_KEY)) == MapItems([([1, 2], True)])
    # 1 and true are one key in a Python dict: the last one wins (the one value decoding drops).
    colliding = loads_cbor(bytes.fromhex(MAP_COLLIDING_KEYS))
    assert type(colliding) is JsMap and list(colliding.items()) == [(1, "b")]
    assert loads_cbor(bytes.fromhex(SET_OF_ARRAY)) == SetItems([[1, 2]])
    assert loads_cbor(bytes.fromhex(SET_COLLIDING)) == SetItems([1, True])
    # Dates outside Python's datetime, NaN dates and unknown tags stay Tagged.
    assert loads_cbor(bytes.fromhex("c1fb7ff8000000000000")).tag == 1
    assert loads_cbor(bytes.fromhex("c11b0000e8d4a51000ff")) == Tagged(1, 0xE8D4A51000FF)
    assert loads_cbor(bytes.fromhex(REGEXP)) == Tagged(27, ["RegExp", "a", "g"])
    # An unknown $-tag from a newer server stays a plain pair.
    assert from_json_compat(["$Date", "2020"]) == ["$Date", "2020"]


@pytest.mark.parametrize("hex_", [MAP_ARRAY_KEY, SET_OF_ARRAY, SET_COLLIDING, REGEXP])
def test_fallbacks_encode_back_to_the_same_cbor(hex_: str) -> None:
    assert cbor_model(dumps_cbor(loads_cbor(bytes.fromhex(hex_)))) == cbor_model(bytes.fromhex(hex_))


def test_map_items_with_colliding_keys_encode_every_pair() -> None:
    assert dumps_cbor(MapItems([(1, "a"), (True, "b")])).hex() == MAP_COLLIDING_KEYS  # both pairs, in order


def test_undefined_is_a_falsy_singleton() -> None:
    assert Undefined() is UNDEFINED
    assert not UNDEFINED
    assert repr(UNDEFINED) == "undefined"
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED


# --- JSON compat -----------------------------------------------------------------------------------


def test_to_json_compat_tags_non_json_values() -> None:
    value = [2**70, b"\x00\xff", UNDEFINED, {3}, ["$x", 1], ("$$y", 2), 2**40, -(2**32), {"k": None}]
    assert to_json_compat(value) == [
        ["$BigInt", "1180591620717411303424"],
        ["$Uint8Array", "AP8="],
        ["$Undefined", 0],
        ["$Set", [3]],
        ["$$x", 1],
        ["$$$y", 2],
        1099511627776.0,  # ≥ 2**32 as a JSON integer would reach the actor as a bigint
        -(2**32),
        {"k": None},
    ]
    # A Map with string keys degrades to an object (JSON has no Map).
    assert to_json_compat(JsMap(a=1)) == {"a": 1}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (datetime.now(UTC), "datetime"),
        ({1: "x"}, "non-string keys"),
        (math.nan, "nan"),
        (math.inf, "inf"),
        (Tagged(27, []), "tag 27"),
        (object(), "object"),
        (MapItems([([1], 2)]), "non-string keys"),
    ],
)
def test_to_json_compat_refuses_what_json_cannot_carry(value: Any, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        to_json_compat(value)


def test_from_json_compat_revives_and_strips_one_dollar() -> None:
    tree = json.loads(
        '[["$BigInt","-12"],["$Uint8Array","AP8="],["$ArrayBuffer","AP8"],["$Undefined",0],'
        '["$Set",[1,["$BigInt","2"]]],["$$x",["$$$y",1]],{"a":["$Set",[]]}]'
    )
    assert from_json_compat(tree) == [
        -12,
        b"\x00\xff",
        b"\x00\xff",
        UNDEFINED,
        {1, 2},
        ["$x", ["$$y", 1]],
        {"a": set()},
    ]


@pytest.mark.parametrize(
    "tree",
    [
        ["$BigInt", "1.5"],
        ["$BigInt", None],
        ["$BigInt", "9" * 5000],
        ["$Uint8Array", "!!"],
        ["$Set", 3],
        ["$Uint8Array", 1],
    ],
)
def test_from_json_compat_rejects_malformed_tags(tree: Any) -> None:
    with pytest.raises(ProtocolError):
        from_json_compat(tree)
    with pytest.raises(ConfigError):
        from_json_compat(tree, error=ConfigError)


# --- dates, refusals ---------------------------------------------------------------------------------


def test_datetimes_travel_as_cbor_tag_1_with_millisecond_precision() -> None:
    when = datetime(2023, 11, 14, 23, 13, 20, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert loads_cbor(dumps_cbor(when)) == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    with pytest.raises(ConfigError, match="naive"):
        dumps_cbor(datetime(2023, 1, 1))


def test_dumps_cbor_refuses_unsupported_and_cyclic_values() -> None:
    with pytest.raises(ConfigError, match="complex"):
        dumps_cbor(1j)
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ConfigError, match="nested"):
        dumps_cbor(cycle)
    with pytest.raises(ConfigError, match="UTF-8"):
        dumps_cbor("\ud800")


def test_canonical_cbor_is_what_the_server_writes_for_metadata() -> None:
    assert dumps_cbor_canonical({"reason": "because", "n": 42}).hex() == "a2616e182a66726561736f6e6762656361757365"
    assert dumps_cbor_canonical([2.5, 1e300]).hex() == "82f94100fb7e37e43c8800759c"
    assert dumps_cbor_canonical(datetime.fromtimestamp(0, UTC)) == dumps_cbor(datetime.fromtimestamp(0, UTC))


# --- properties --------------------------------------------------------------------------------------


@PROPERTY
@given(bare_values)
def test_cbor_round_trips_every_value(value: Any) -> None:
    data = dumps_cbor(value)
    assert canon(loads_cbor(data)) == canon(value)


@PROPERTY
@given(json_values)
def test_dumps_cbor_is_well_formed_for_an_independent_decoder(value: Any) -> None:
    cbor2.loads(dumps_cbor(value))


@PROPERTY
@given(json_values)
def test_json_compat_round_trips_the_json_model(value: Any) -> None:
    text = json.dumps(to_json_compat(value), allow_nan=False)
    assert canon(from_json_compat(json.loads(text))) == canon(value)
