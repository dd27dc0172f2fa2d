"""Hypothesis strategies for the protocol tests (values, messages) and the ``canon`` comparison they use.

Imported by the other ``test_protocol_*`` modules; its own tests only check the strategies themselves.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import struct
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from rivetctl.errors import ActorRef
from rivetctl.protocol import messages as m
from rivetctl.protocol.values import UNDEFINED, JsMap, Tagged, Undefined

# Examples per property in the default run (round trips; garbage-in tests use GARBAGE_EXAMPLES); the
# ``fuzz``-marked tests in test_protocol_fuzz.py use FUZZ_EXAMPLES. All three can be set from the environment.
EXAMPLES = int(os.environ.get("RIVETCTL_PROTOCOL_EXAMPLES", "100"))
GARBAGE_EXAMPLES = int(os.environ.get("RIVETCTL_GARBAGE_EXAMPLES", "200"))
FUZZ_EXAMPLES = int(os.environ.get("RIVETCTL_FUZZ_EXAMPLES", "100000"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GARBAGE = settings(max_examples=GARBAGE_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
U64_MAX = 2**64 - 1

# --- values ---------------------------------------------------------------------------------------

texts = st.text(max_size=12) | st.text(max_size=8).map(lambda s: "$" + s) | st.sampled_from(["$BigInt", "$Set"])
integers = st.integers() | st.sampled_from(
    [
        0,
        23,
        24,
        255,
        256,
        2**32 - 1,
        2**32,
        -(2**32),
        -(2**32) - 1,
        2**53 - 1,
        2**53,
        -(2**53),
        2**64,
        -(2**64) - 1,
    ]
)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
_hashable_json = (
    st.none() | st.booleans() | integers | finite_floats | texts | st.binary(max_size=8) | st.just(UNDEFINED)
)
_json_scalars = _hashable_json | st.builds(bytearray, st.binary(max_size=8))
_datetimes = st.integers(min_value=-62135596800000, max_value=253402300799999).map(
    lambda ms: _EPOCH + timedelta(milliseconds=ms)
)
_bare_hashable = _hashable_json | st.floats(allow_nan=False) | _datetimes
_NATIVE_TAGS = {0, 1, 2, 3, 64, 258, 259, 55799}
_free_tags = st.integers(min_value=4, max_value=2**64 - 1).filter(lambda t: t not in _NATIVE_TAGS)


def _json_children(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(children, max_size=4)
        | st.dictionaries(texts, children, max_size=4)
        | st.tuples(texts, children).map(list)
        | st.sets(_hashable_json, max_size=4)
    )


def _bare_children(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        _json_children(children)
        | st.sets(_bare_hashable, max_size=4)
        | st.dictionaries(_bare_hashable, children, max_size=3).map(JsMap)
        | st.dictionaries(st.integers(), children, max_size=3)
        | st.builds(Tagged, _free_tags, children | st.binary(max_size=8))
    )


json_values = st.recursive(_json_scalars, _json_children, max_leaves=12)
"""What the json and cbor encodings carry: the JSON model plus ``$``-tagged bigint/bytes/undefined/Set."""
bare_values = st.recursive(_json_scalars | _bare_hashable, _bare_children, max_leaves=12)
"""Everything the value model has (BARE carries the actor's CBOR untouched)."""

# --- messages -------------------------------------------------------------------------------------

u64 = st.integers(min_value=0, max_value=U64_MAX)
actors = st.builds(ActorRef, st.text(max_size=30), u64, st.none() | st.text(max_size=10))


def to_server(values: st.SearchStrategy[Any]) -> st.SearchStrategy[m.ToServer]:
    """Client→server WebSocket messages with values from ``values``."""
    return st.builds(m.ActionRequest, u64, st.text(), st.lists(values, max_size=4)) | st.builds(
        m.SubscriptionRequest, st.text(), st.booleans()
    )


def to_client(values: st.SearchStrategy[Any]) -> st.SearchStrategy[m.ToClient]:
    """Server→client WebSocket messages with values from ``values``."""
    return st.one_of(
        st.builds(m.Init, st.text(), st.text()),
        st.builds(m.Error, st.text(), st.text(), st.text(), st.none() | values, st.none() | u64, st.none() | actors),
        st.builds(m.ActionResponse, u64, values),
        st.builds(m.Event, st.text(), st.lists(values, max_size=4)),
    )


def http_requests(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Action and queue request bodies."""
    return st.builds(m.HttpActionRequest, st.lists(values, max_size=4)) | st.builds(
        m.HttpQueueSendRequest, values, st.none() | st.text(), st.none() | st.booleans(), st.none() | u64
    )


def http_responses(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Action and queue ``200`` bodies."""
    return st.builds(m.HttpActionResponse, values) | st.builds(m.HttpQueueSendResponse, st.text(), st.none() | values)


def http_errors(values: st.SearchStrategy[Any]) -> st.SearchStrategy[m.HttpResponseError]:
    """Error bodies."""
    return st.builds(m.HttpResponseError, st.text(), st.text(), st.text(), st.none() | values, st.none() | actors)


# --- comparison -----------------------------------------------------------------------------------


def canon(value: Any, *, numbers: bool = True) -> Any:
    """A hashable form that is equal exactly when two values mean the same to an actor.

    ints and floats compare as numbers (JS has one number type) unless ``numbers`` is false, for checking that
    two encoders chose the same CBOR type for each number; tuples and lists are both arrays; ``bytes``-likes
    are one type; a ``JsMap`` and a dict with the same items are equal.
    """
    again = functools.partial(canon, numbers=numbers)
    if value is None:
        return ("null",)
    if isinstance(value, Undefined):
        return ("undefined",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        if not numbers:
            return ("int", value) if isinstance(value, int) else ("float", struct.pack(">d", value))
        return ("number", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, bytes | bytearray | memoryview):
        return ("bytes", bytes(value))
    if isinstance(value, datetime):
        return ("date", value)
    if isinstance(value, set | frozenset):
        return ("set", frozenset(again(v) for v in value))
    if isinstance(value, dict):
        return ("map", frozenset((again(k), again(v)) for k, v in value.items()))
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a protocol message or ActorRef (NamedTuples)
        return (type(value).__name__, *(again(getattr(value, name)) for name in value._fields))
    if isinstance(value, list | tuple):
        return ("array", tuple(again(v) for v in value))
    if isinstance(value, Tagged):
        return ("tag", value.tag, again(value.value))
    if dataclasses.is_dataclass(value):
        return (type(value).__name__, *(again(getattr(value, f.name)) for f in dataclasses.fields(value)))
    raise TypeError(f"no canon for {type(value).__name__}")


def cbor_model(data: bytes) -> Any:
    """What plain ``cbor2.loads`` reads in ``data``, ints and floats (and their bits) told apart, maps in order.

    Two encodings of the same CBOR data model give the same answer whatever their header and float widths: the
    official client's cbor-x writes 16-bit map headers, rivetctl's cbor2 the shortest ones.
    """

    def shape(item: Any) -> Any:
        if item is None or isinstance(item, bool):
            return item
        if isinstance(item, int):
            return ("int", item)
        if isinstance(item, float):
            return ("float", struct.pack(">d", item))
        if isinstance(item, list | tuple):
            return ("array", tuple(shape(x) for x in item))
        if isinstance(item, Mapping):
            return ("map", tuple((shape(k), shape(v)) for k, v in item.items()))
        if isinstance(item, cbor2.CBORTag):
            return ("tag", item.tag, shape(item.value))
        if isinstance(item, set | frozenset):
            return ("set", frozenset(shape(x) for x in item))
        return (type(item).__name__, item)

    return shape(cbor2.loads(data))


def assert_same_on_the_wire(ours: bytes, theirs: bytes, enc: str, decode: Callable[[bytes], Any]) -> None:
    """``ours`` says what ``theirs`` says: JSON byte for byte, CBOR as the same data model, BARE as the same
    message with values of the same types (its CBOR payloads may differ in header widths)."""
    if enc == "json" or ours == theirs:
        assert ours == theirs
    elif enc == "cbor":
        assert cbor_model(ours) == cbor_model(theirs)
    else:
        assert canon(decode(ours), numbers=False) == canon(decode(theirs), numbers=False)


# --- the strategies' own tests --------------------------------------------------------------------


def test_canon_treats_numbers_as_one_type_but_not_bools() -> None:
    assert canon(2**40) == canon(float(2**40))
    assert canon(1) != canon(True)
    assert canon([1, (2,)]) == canon((1, [2]))
    assert canon(JsMap(a=1)) == canon({"a": 1})
