"""Trees back to values: ``$``-tagged pairs and CBOR tags become Python values, with fallbacks where Python
cannot hold what JavaScript can (the mapping is documented in :mod:`rivetctl.protocol.values`).

CBOR is decoded by cbor2 and walked by :func:`_fast`, which gives up (:class:`_Unsure`) on anything the pure
reader might read differently; then the pure reader's tree is walked by :func:`_revive`, as JSON trees are.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import cbor2

from rivetctl.errors import ProtocolError
from rivetctl.protocol import cbor_read
from rivetctl.protocol.cbor import MAX_DEPTH, Pairs, Tag
from rivetctl.protocol.jstypes import UNDEFINED, JsMap, MapItems, SetItems, Tagged

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DECIMAL = re.compile(r"-?[0-9]+")
_CBOR2_UNDEFINED: Final = cbor2.undefined
_Walk = Callable[[Any, int], Any]


def revive_json(tree: Any) -> Any:
    """The value in a parsed JSON tree (``ProtocolError`` for malformed ``$`` tags)."""
    return _revive(tree, 0)


def revive_parsed_json(tree: Any) -> Any:
    """As :func:`revive_json`, for a tree fresh from ``json.loads`` that nothing else holds: it is revived in
    place (containers without ``$`` tags are kept, not copied)."""
    return _revive_owned(tree, 0)


def revive_cbor(data: bytes) -> Any:
    """The value in one CBOR item (``ProtocolError`` for anything else); the pure reader words every error."""
    tree = cbor_read.decode_fast(data)
    if tree is not cbor_read.UNSURE:
        try:
            return _fast(tree, 0)
        except (_Unsure, ProtocolError):
            pass
    return _revive(cbor_read.decode(data, undefined=UNDEFINED), 0)


class _Unsure(Exception):
    """cbor2's tree holds something the pure reader may read differently or refuse."""


_PLAIN: Final = frozenset({str, int, bool, bytes, type(None)})


def _fast(node: Any, depth: int) -> Any:
    # cbor2's tree: exact types only, nested at most MAX_DEPTH - 1 levels (cbor_read.decode_fast). It is ours
    # and gets revived in place; _Unsure leaves it half done, and the pure reader starts again from the bytes.
    kind = type(node)
    if kind is dict:
        for key, item in node.items():
            if type(key) is not str:
                raise _Unsure  # rare outside a Map (tag 259): the pure reader's pairs decide
            if type(item) not in _PLAIN:
                node[key] = _fast(item, depth + 1)
        return node
    if kind is list:
        if len(node) == 2 and type(node[0]) is str and node[0].startswith("$"):
            if node[0] == "$Undefined":  # its payload is dropped, but must still be one the pure reader reads
                _fast(node[1], depth + 1)
            return _revive_pair(node[0], node[1], depth, _fast)
        for index, item in enumerate(node):
            if type(item) not in _PLAIN:
                node[index] = _fast(item, depth + 1)
        return node
    if kind in _PLAIN or (kind is float and node == node):  # a NaN may carry other payload bits
        return node
    if kind is Tag:
        return _revive_tag(node.tag, node.item, depth, _fast)
    if node is _CBOR2_UNDEFINED:
        return UNDEFINED
    raise _Unsure  # NaN, simple values, and the tuples and frozendicts cbor2 makes of arrays and maps as keys


def _revive_owned(node: Any, depth: int) -> Any:
    # A tree from json.loads (exact dict, list, str, int, float, bool, None): containers are revived in place;
    # depth limits and errors as _revive's (a scalar deeper than MAX_DEPTH counts too).
    if depth > MAX_DEPTH:
        raise _too_deep()
    kind = type(node)
    if kind is dict:
        if node and depth >= MAX_DEPTH:
            raise _too_deep()
        for key, item in node.items():
            if type(item) is dict or type(item) is list:
                node[key] = _revive_owned(item, depth + 1)
        return node
    if kind is list:
        if len(node) == 2 and type(node[0]) is str and node[0].startswith("$"):
            return _revive_pair(node[0], node[1], depth, _revive_owned)
        if node and depth >= MAX_DEPTH:
            raise _too_deep()
        for index, item in enumerate(node):
            if type(item) is dict or type(item) is list:
                node[index] = _revive_owned(item, depth + 1)
        return node
    return node


def _revive(node: Any, depth: int) -> Any:
    # A JSON tree, or the pure CBOR reader's (maps as Pairs, tags as Tag).
    if depth > MAX_DEPTH:
        raise _too_deep()
    kind = type(node)
    if kind is str or kind is int or kind is float or kind is bool or node is None:
        return node
    if isinstance(node, list):
        if len(node) == 2 and isinstance(node[0], str) and node[0].startswith("$"):
            return _revive_pair(node[0], node[1], depth, _revive)
        return [_revive(item, depth + 1) for item in node]
    if isinstance(node, dict):
        return {key: _revive(item, depth + 1) for key, item in node.items()}
    if isinstance(node, Pairs):
        return _object_or_map([(_revive(k, depth + 1), _revive(v, depth + 1)) for k, v in node.items])
    if isinstance(node, Tag):
        return _revive_tag(node.tag, node.item, depth, _revive)
    return node


def _too_deep() -> ProtocolError:
    return ProtocolError(f"value nested deeper than {MAX_DEPTH} levels")


def _object_or_map(pairs: list[tuple[Any, Any]]) -> Any:
    if all(isinstance(k, str) for k, _ in pairs):
        return dict(pairs)
    return _map(pairs, dict)


def _revive_pair(name: str, payload: Any, depth: int, walk: _Walk) -> Any:
    if name == "$BigInt":
        if isinstance(payload, int) and not isinstance(payload, bool):
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
        return UNDEFINED
    if name == "$Set":
        if not isinstance(payload, list):
            raise ProtocolError(f"$Set needs an array, got {type(payload).__name__}")
        return _set([walk(item, depth + 1) for item in payload])
    if name.startswith("$$"):
        return [name[1:], walk(payload, depth + 1)]
    return [name, walk(payload, depth + 1)]  # an unknown tag from a newer server: keep it visible


def _revive_tag(tag: int, item: Any, depth: int, walk: _Walk) -> Any:
    if tag in (2, 3) and isinstance(item, bytes):
        magnitude = int.from_bytes(item, "big")
        return magnitude if tag == 2 else -1 - magnitude
    if tag == 64 and isinstance(item, bytes):
        return item
    if tag == 259 and isinstance(item, Pairs | dict):
        pairs = item.items if isinstance(item, Pairs) else item.items()
        return _map([(walk(k, depth + 1), walk(v, depth + 1)) for k, v in pairs], JsMap)
    value = walk(item, depth + 1)
    if tag == 258 and isinstance(value, list):
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
        if tag == 1 and isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
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
