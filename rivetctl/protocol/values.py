"""The actor value model: Python values ⇄ the JSON-compat trees and CBOR bytes RivetKit actors use.

Mapping (checked against a rivetkit 2.3.19 actor, see ``tests/unit/test_protocol_server_facts.py``):

============================  ==============================  ==========================================
Python                        JS in the actor                 on the wire
============================  ==============================  ==========================================
``None`` / :data:`UNDEFINED`  ``null`` / ``undefined``        ``null`` / ``["$Undefined",0]``
``bool``, ``str``             boolean, string                 as is
``int`` in [-2**32, 2**32)    number                          integer
other ``int`` ≤ 2**53-1       number                          float (an integer ≥ 2**32 reaches the
                                                              actor as a *bigint*)
larger ``int``                bigint                          ``["$BigInt","<decimal>"]``
``float``                     number                          float64, even ``1.0`` (NaN/±inf: BARE only)
``bytes``-like                Uint8Array                      ``["$Uint8Array","<base64>"]``
``set``/``frozenset``         Set                             ``["$Set",[…]]``
``list``/``tuple``            Array                           array; a 2-list whose first item is a
                                                              ``$`` string gets one more ``$``
``dict`` (str keys)           object                          map (cbor-x: 16-bit header)
:class:`JsMap`, other dicts   Map                             CBOR tag 259 (not representable in JSON)
aware ``datetime``            Date                            CBOR tag 1, epoch seconds (not in JSON)
:class:`Tagged`               cbor-x ``Tag`` (RegExp, …)      that CBOR tag (not in JSON)
============================  ==============================  ==========================================

Decoding also accepts what cbor-x writes natively (byte strings, tag 64, bignum tags 2/3, Set tag 258,
``undefined``) and ``["$ArrayBuffer",…]`` (→ ``bytes``). Fallbacks, so that decoding never fails on a value
JavaScript allows: a Set whose items are unhashable or collide in Python (``1`` and ``true``) becomes a
:class:`SetItems` list; such a Map becomes a :class:`MapItems` list of ``(key, value)`` tuples; a Date outside
Python's range and any other tag become :class:`Tagged`; an unknown ``["$Foo", x]`` pair stays a list.
Floats stay floats: JS numbers that are whole but large arrive as ``1795890103694.0``.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from rivetctl.errors import ConfigError, ProtocolError, RivetctlError
from rivetctl.protocol import cbor
from rivetctl.protocol.cbor import MAX_DEPTH, U32, Pairs, Tag
from rivetctl.protocol.jstypes import UNDEFINED, JsMap, MapItems, SetItems, Tagged, Undefined
from rivetctl.protocol.revive import revive_cbor, revive_json

__all__ = [
    "MAX_SAFE_INTEGER",
    "UNDEFINED",
    "JsMap",
    "MapItems",
    "SetItems",
    "Tagged",
    "Undefined",
    "dumps_cbor",
    "dumps_cbor_canonical",
    "from_json_compat",
    "loads_cbor",
    "sort_keys",
    "to_json_compat",
]

MAX_SAFE_INTEGER: Final = 2**53 - 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LOW: Final = -(1 << 32)
_HIGH: Final = 1 << 32
_AS_IS: Final = frozenset({str, bool, type(None)})  # exact types _compat returns unchanged


def to_json_compat(value: Any) -> Any:
    """The JSON-safe tree an actor reads as ``value`` (what the ``json`` and ``cbor`` encodings carry).

    Raises:
        ConfigError: JSON cannot carry the value (a datetime, a Map with non-string keys, NaN/infinity,
            a :class:`Tagged`, an unsupported type, nesting deeper than ``MAX_DEPTH``).
    """
    return _compat(value, 0, False)


def from_json_compat(tree: Any, *, error: type[RivetctlError] = ProtocolError) -> Any:
    """Revive a parsed JSON tree: ``$``-tagged pairs become Python values, ``$$`` loses one ``$``.

    Args:
        tree: what ``json.loads`` returned.
        error: the exception class for malformed tags (``ConfigError`` when the tree came from the user).
    """
    try:
        return revive_json(tree)
    except ProtocolError as exc:
        raise error(str(exc)) from None


def dumps_cbor(value: Any) -> bytes:
    """The CBOR an actor reads as ``value``, byte for byte what the official client writes (cbor-x +
    JSON-compat): the payload of BARE ``args``/``output``, create ``input`` and queue bodies.

    Raises:
        ConfigError: an unsupported type, a naive datetime, an int beyond 64 bits inside a ``Tagged``, or
            nesting deeper than ``MAX_DEPTH``.
    """
    return cbor.encode_tree(_compat(value, 0, True), "js")


def dumps_cbor_canonical(value: Any) -> bytes:
    """CBOR the way the *server* writes JSON-model values (minimal headers, sorted keys, shortest floats),
    e.g. error ``metadata``; values outside the JSON model fall back to :func:`dumps_cbor`. For test peers.
    """
    try:
        tree = to_json_compat(value)
    except ConfigError:
        return dumps_cbor(value)
    return cbor.encode_tree(sort_keys(tree), "canonical")


def sort_keys(tree: Any) -> Any:
    """``tree`` with every dict's keys sorted, as serde_json's ``Value`` (a ``BTreeMap``) writes them."""
    if isinstance(tree, dict):
        return {key: sort_keys(tree[key]) for key in sorted(tree)}
    if isinstance(tree, list):
        return [sort_keys(item) for item in tree]
    return tree


def loads_cbor(data: bytes) -> Any:
    """Decode one CBOR item written by an actor (or the server) into the value model.

    Raises:
        ProtocolError: anything that is not exactly one well-formed CBOR item with valid ``$`` tags.
    """
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ProtocolError(f"CBOR: expected bytes, got {type(data).__name__}")
        data = bytes(data)
    head = data[0] if data else 0xFF
    size = _SMALL_SIZES.get(head)
    if size == len(data):  # a lone small integer, bool or null: the usual action output, read directly
        return _small(head, data)
    try:
        return revive_cbor(data)
    except RecursionError:
        raise ProtocolError("CBOR: nested too deeply") from None


_SIMPLE = {0xF4: False, 0xF5: True, 0xF6: None}
_SMALL_SIZES = {
    **{b: 1 for b in range(0x18)},
    **{b: 1 for b in range(0x20, 0x38)},
    **{b: 1 for b in _SIMPLE},
    **{0x18: 2, 0x19: 3, 0x1A: 5, 0x38: 2, 0x39: 3, 0x3A: 5},
}
"""First byte → total size of a CBOR item that is one integer of up to 32 bits, or false/true/null."""


def _small(head: int, data: bytes) -> Any:
    if head in _SIMPLE:
        return _SIMPLE[head]
    value = head & 0x1F if len(data) == 1 else int.from_bytes(data[1:], "big")
    return value if head < 0x20 else -1 - value


def _compat(value: Any, depth: int, binary: bool) -> Any:
    if depth > MAX_DEPTH:
        raise ConfigError(f"value nested deeper than {MAX_DEPTH} levels (or it contains itself)")
    kind = type(value)
    if kind is str or value is None or kind is bool or (kind is int and _LOW <= value < _HIGH):
        return value
    if kind is float and (binary or math.isfinite(value)):
        return value
    if kind is list:
        return _items(value, depth, binary)
    if kind is dict and all(type(key) is str for key in value) and not (value and depth >= MAX_DEPTH):
        return {k: v if type(v) in _AS_IS else _compat(v, depth + 1, binary) for k, v in value.items()}
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, float):
        if not binary and not math.isfinite(value):
            raise ConfigError(f"JSON cannot carry the number {value}; use the bare encoding")
        return float(value)
    if isinstance(value, Undefined):
        return ["$Undefined", 0]
    if isinstance(value, bytes | bytearray | memoryview):
        return ["$Uint8Array", base64.b64encode(bytes(value)).decode("ascii")]
    if isinstance(value, set | frozenset | SetItems):
        return ["$Set", [_compat(item, depth + 1, binary) for item in value]]
    if isinstance(value, dict | MapItems):
        pairs = list(value.items()) if isinstance(value, dict) else list(value)
        is_object = not isinstance(value, JsMap | MapItems) and all(isinstance(k, str) for k, _ in pairs)
        if is_object or (not binary and all(isinstance(k, str) for k, _ in pairs)):
            return {k: _compat(v, depth + 1, binary) for k, v in pairs}
        if not binary:
            raise ConfigError("JSON cannot carry a Map with non-string keys; use the bare encoding")
        return Tag(259, Pairs([(_compat(k, depth + 1, True), _compat(v, depth + 1, True)) for k, v in pairs]))
    if isinstance(value, list | tuple):
        return _items(value, depth, binary)
    if isinstance(value, datetime):
        if not binary:
            raise ConfigError("JSON cannot carry a datetime (a JS Date); send an ISO string or use bare")
        return Tag(1, _date_seconds(value))
    if isinstance(value, Tagged):
        if not binary:
            raise ConfigError(f"JSON cannot carry CBOR tag {value.tag}; use the bare encoding")
        inner = value.value
        is_bytes = isinstance(inner, bytes | bytearray | memoryview)
        return Tag(value.tag, bytes(inner) if is_bytes else _compat(inner, depth + 1, True))
    raise ConfigError(f"cannot send a {type(value).__name__} to an actor")


def _items(value: list[Any] | tuple[Any, ...], depth: int, binary: bool) -> list[Any]:
    if value and depth >= MAX_DEPTH:
        raise ConfigError(f"value nested deeper than {MAX_DEPTH} levels (or it contains itself)")
    items = [item if type(item) in _AS_IS else _compat(item, depth + 1, binary) for item in value]
    if len(items) == 2 and isinstance(items[0], str) and items[0].startswith("$"):
        items[0] = "$" + items[0]
    return items


def _number(value: int) -> Any:
    # cbor-x decodes 64-bit CBOR integers as bigint, and the server turns JSON integers ≥ 2**32 into those:
    # only a float reaches the actor as a number, so send what cbor-x itself writes for such numbers.
    if -(1 << 32) <= value < 1 << 32:
        return int(value)
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return float(value)
    try:
        return ["$BigInt", str(value)]
    except ValueError:
        raise ConfigError("integer too large to send (over 4300 digits)") from None


def _date_seconds(value: datetime) -> Any:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigError("cannot send a naive datetime; attach a timezone (e.g. datetime.UTC)")
    ms = (value - _EPOCH) // timedelta(milliseconds=1)
    if ms % 1000 == 0 and 0 <= ms // 1000 < 1 << 32:
        return U32(ms // 1000)
    return ms / 1000
