"""Trees back to values: ``$``-tagged pairs and CBOR tags become Python values, with fallbacks where Python
cannot hold what JavaScript can (the mapping is documented in :mod:`rivetctl.protocol.values`).

One walker serves both encodings: a tree fresh from ``json.loads`` and one fresh from :func:`.cbor.decode`
(which may also hold ``CBORTag``, ``undefined``, tuples and frozendicts). Trees are revived in place: lists
and dicts without ``$`` tags are kept, not copied.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cbor2 import CBORSimpleValue, CBORTag, undefined

from rivetctl.errors import ProtocolError
from rivetctl.protocol import cbor
from rivetctl.protocol.cbor import MAX_DEPTH
from rivetctl.protocol.jstypes import UNDEFINED, JsMap, MapItems, SetItems, Tagged

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DECIMAL = re.compile(r"-?[0-9]+")
_PLAIN: Final = frozenset({str, int, float, bool, bytes, type(None)})
"""Exact types that are their own value: the walker does not visit them."""


def revive_json(tree: Any) -> Any:
    """The value in a parsed JSON tree, revived in place (``ProtocolError`` for malformed ``$`` tags).

    Pass a tree nothing else holds, such as what ``json.loads`` returned: its lists and dicts are reused.
    """
    return _revive(tree, 0)


def revive_cbor(data: bytes) -> Any:
    """The value in one CBOR item (``ProtocolError`` for anything else)."""
    return _revive(cbor.decode(data), 0)


def _too_deep() -> ProtocolError:
    return ProtocolError(f"value nested deeper than {MAX_DEPTH} levels")


def _revive(node: Any, depth: int) -> Any:
    # A scalar deeper than MAX_DEPTH counts too: a non-empty container at MAX_DEPTH is refused.
    if depth > MAX_DEPTH:
        raise _too_deep()
    kind = type(node)
    if kind is dict:
        if node and depth >= MAX_DEPTH:
            raise _too_deep()
        text_keys = True
        for key, item in node.items():
            if type(key) is not str:
                text_keys = False
            if type(item) not in _PLAIN:
                node[key] = _revive(item, depth + 1)
        if text_keys:
            return node
        return _object_or_map([(_revive(key, depth + 1), item) for key, item in node.items()])
    if kind is list:
        if len(node) == 2 and type(node[0]) is str and node[0].startswith("$"):
            return _revive_pair(node[0], node[1], depth)
        if node and depth >= MAX_DEPTH:
            raise _too_deep()
        for index, item in enumerate(node):
            if type(item) not in _PLAIN:
                node[index] = _revive(item, depth + 1)
        return node
    if kind in _PLAIN:
        return node
    if kind is CBORTag:
        return _revive_tag(node.tag, node.value, depth)
    if kind is tuple:  # an array inside a map key or a tag cbor2 read as immutable
        return _revive(list(node), depth)
    if isinstance(node, Mapping) and not isinstance(node, dict):  # cbor2's frozendict
        return _revive(dict(node.items()), depth)
    if node is undefined:
        return UNDEFINED
    if kind is CBORSimpleValue:
        raise ProtocolError(f"CBOR: unsupported simple value {node.value}")
    raise ProtocolError(f"unexpected {type(node).__name__} in a value")


def _object_or_map(pairs: list[tuple[Any, Any]]) -> Any:
    if all(type(key) is str for key, _ in pairs):
        return dict(pairs)
    return _map(pairs, dict)


def _revive_pair(name: str, payload: Any, depth: int) -> Any:
    if name == "$BigInt":
        if type(payload) is int:
            return payload
        if isinstance(payload, str) and _DECIMAL.fullmatch(payload):
            try:
                return int(payload)
            except ValueError:
                raise ProtocolError("$BigInt has too many digits") from None
        raise ProtocolError(f"$BigInt needs a decimal string, got {type(payload).__name__}")
    if name in ("$Uint8Array", "$ArrayBuffer"):
        return _b64(payload, name)
    if name == "$Undefined":
        _revive(payload, depth + 1)  # dropped, but it must still be a value
        return UNDEFINED
    if name == "$Set":
        if type(payload) is tuple:
            payload = list(payload)
        if type(payload) is not list:
            raise ProtocolError(f"$Set needs an array, got {type(payload).__name__}")
        return _set([_revive(item, depth + 1) for item in payload])
    if name.startswith("$$"):
        return [name[1:], _revive(payload, depth + 1)]
    return [name, _revive(payload, depth + 1)]  # an unknown tag from a newer server: keep it visible


def _revive_tag(tag: int, item: Any, depth: int) -> Any:
    if tag in (2, 3) and type(item) is bytes:
        magnitude = int.from_bytes(item, "big")
        return magnitude if tag == 2 else -1 - magnitude
    if tag == 64 and type(item) is bytes:
        return item
    if tag == 259 and isinstance(item, Mapping):
        pairs = [(_revive(key, depth + 1), _revive(value, depth + 1)) for key, value in item.items()]
        return _map(pairs, JsMap)
    value = _revive(item, depth + 1)
    if tag == 258 and type(value) is list:
        return _set(value)
    if tag == 55799:
        return value
    date = _date(tag, value)
    return date if date is not None else Tagged(tag, value)


def _map(pairs: list[tuple[Any, Any]], kind: type[dict[Any, Any]]) -> Any:
    try:
        built = kind(pairs)
    except TypeError:
        return MapItems(pairs)
    return built if len(built) == len(pairs) else MapItems(pairs)


def _set(items: list[Any]) -> Any:
    try:
        built = set(items)
    except TypeError:
        return SetItems(items)
    return built if len(built) == len(items) else SetItems(items)


def _date(tag: int, value: Any) -> datetime | None:
    try:
        if tag == 0 and isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        if tag == 1 and type(value) in (int, float) and math.isfinite(value):
            # cbor-x: new Date(Math.round(seconds * 1000)); outside Python's years 1-9999 it stays Tagged.
            return _EPOCH + timedelta(milliseconds=math.floor(value * 1000 + 0.5))
    except (ValueError, OverflowError):
        pass
    return None


def _b64(payload: Any, name: str) -> bytes:
    if not isinstance(payload, str):
        raise ProtocolError(f"{name} needs a base64 string, got {type(payload).__name__}")
    text = payload.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{name} payload is not valid base64") from None
