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
``dict`` (str keys)           object                          map
:class:`JsMap`, other dicts   Map                             CBOR tag 259 (not representable in JSON)
aware ``datetime``            Date                            CBOR tag 1, epoch seconds (not in JSON)
:class:`Tagged`               cbor-x ``Tag`` (RegExp, …)      that CBOR tag (not in JSON)
============================  ==============================  ==========================================

Decoding also accepts what cbor-x writes natively (byte strings, tag 64, bignum tags 2/3, Set tag 258,
``undefined``) and ``["$ArrayBuffer",…]`` (→ ``bytes``). Fallbacks, so that decoding never fails on a value
JavaScript allows: a Set whose items are unhashable or collide in Python (``1`` and ``true``) becomes a
:class:`SetItems` list; a Map with unhashable keys (arrays, objects) becomes a :class:`MapItems` list of
``(key, value)`` tuples; a Date outside Python's range and any other tag become :class:`Tagged`; an unknown
``["$Foo", x]`` pair stays a list. A map with a key twice keeps the last value, as a JS object does; so does a
Map whose keys only Python takes for one (``1`` and ``true``), the one case where decoding drops a value.
Floats stay floats: JS numbers that are whole but large arrive as ``1795890103694.0``.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cbor2 import CBORTag

from rivetctl.errors import ConfigError, ProtocolError, RivetctlError
from rivetctl.protocol import cbor
from rivetctl.protocol.cbor import MAX_DEPTH, PairMap
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
    "to_cbor_compat",
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


def to_cbor_compat(value: Any) -> Any:
    """The tree :func:`dumps_cbor` writes for ``value`` (:mod:`rivetctl.protocol.cbor` trees).

    Raises:
        ConfigError: as :func:`dumps_cbor`.
    """
    return _compat(value, 0, True)


def from_json_compat(tree: Any, *, error: type[RivetctlError] = ProtocolError) -> Any:
    """Revive a parsed JSON tree: ``$``-tagged pairs become Python values, ``$$`` loses one ``$``.

    Args:
        tree: what ``json.loads`` returned; it is revived in place (its lists and dicts are reused).
        error: the exception class for malformed tags (``ConfigError`` when the tree came from the user).
    """
    try:
        return revive_json(tree)
    except ProtocolError as exc:
        raise error(str(exc)) from None


def dumps_cbor(value: Any) -> bytes:
    """The CBOR an actor reads as ``value``, the data model the official client writes (cbor-x + JSON-compat:
    the same integers, float64 numbers, ``$`` pairs and tags; shortest headers): the payload of BARE
    ``args``/``output``, create ``input`` and queue bodies.

    Raises:
        ConfigError: an unsupported type, a naive datetime, a tag number beyond 64 bits, or nesting deeper
            than ``MAX_DEPTH``.
    """
    return cbor.encode(_compat(value, 0, True))


def dumps_cbor_canonical(value: Any) -> bytes:
    """CBOR the way the *server* writes JSON-model values (canonical key order, shortest floats), e.g. error
    ``metadata``; values outside the JSON model fall back to :func:`dumps_cbor`. For test peers.
    """
    try:
        tree = to_json_compat(value)
    except ConfigError:
        return dumps_cbor(value)
    return cbor.encode(tree, canonical=True)


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
    return revive_cbor(data)


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
        return CBORTag(259, PairMap([(_compat(k, depth + 1, True), _compat(v, depth + 1, True)) for k, v in pairs]))
    if isinstance(value, list | tuple):
        return _items(value, depth, binary)
    if isinstance(value, datetime):
        if not binary:
            raise ConfigError("JSON cannot carry a datetime (a JS Date); send an ISO string or use bare")
        return CBORTag(1, _date_seconds(value))
    if isinstance(value, Tagged):
        if not binary:
            raise ConfigError(f"JSON cannot carry CBOR tag {value.tag}; use the bare encoding")
        if isinstance(value.tag, bool) or not isinstance(value.tag, int) or not 0 <= value.tag < 1 << 64:
            raise ConfigError(f"CBOR tag {value.tag!r:.40} is not an integer in [0, 2**64)")
        inner = value.value
        is_bytes = isinstance(inner, bytes | bytearray | memoryview)
        return CBORTag(int(value.tag), bytes(inner) if is_bytes else _compat(inner, depth + 1, True))
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
        return ms // 1000
    return ms / 1000
