"""Low-level CBOR writing: plain trees to bytes in cbor-x's or the server's layout (reading: :mod:`.cbor_read`).

This module knows CBOR, not RivetKit values; :mod:`rivetctl.protocol.values` maps Python values to the trees
written here. Two writer styles exist because the two sides differ:

- ``"js"`` is what the official client's cbor-x writes: every JS object gets a 16-bit map header
  (``b9 0001``) and every non-integer number is a float64 (``fb``).
- ``"canonical"`` is what the server (Rust) writes: minimal map headers and the shortest exact float.

Integers are always written in their shortest form unless wrapped in :class:`U32` / :class:`U64`
(cbor-x writes ``Date`` seconds as a 32-bit and message ids as 64-bit uints). cbor2's encoder cannot write
the ``js`` map headers, so the writer stays in Python, dispatching on the exact type first.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Final, Literal

from rivetctl.errors import ConfigError

Style = Literal["js", "canonical"]
MAX_DEPTH: Final = 200
"""Deepest nesting (arrays, maps and tags) the reader and writer accept."""


class U32(int):
    """An unsigned int written with a 4-byte argument (``1a``)."""


class U64(int):
    """An unsigned int written with an 8-byte argument (``1b``)."""


@dataclass(frozen=True, slots=True)
class Tag:
    """A CBOR tag around a tree item."""

    tag: int
    item: Any


@dataclass(frozen=True, slots=True)
class Pairs:
    """A CBOR map given as ``(key, value)`` pairs (keys may be unhashable); always a minimal header."""

    items: list[tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class Raw:
    """An already-encoded CBOR item, spliced in verbatim."""

    data: bytes


def encode_tree(tree: Any, style: Style = "js") -> bytes:
    """Encode a tree of ``None``/bool/int/float/str/bytes/list/dict/``Tag``/``Pairs``/``Raw``.

    Raises:
        ConfigError: a value has no CBOR form here (unknown type, int beyond 64 bits, nested too deeply).
    """
    out = bytearray()
    _write(out, tree, style == "js", 0)
    return bytes(out)


_SMALL: Final = [bytes((byte,)) for byte in range(256)]  # one-byte heads: major << 5 | argument < 24
_HEAD1, _HEAD2 = struct.Struct(">BB").pack, struct.Struct(">BH").pack
_HEAD4, _HEAD8 = struct.Struct(">BI").pack, struct.Struct(">BQ").pack
_FLOAT64 = struct.Struct(">Bd").pack
_KEYS: dict[str, bytes] = {}  # short map keys written before (message fields, object shapes), head included
_KEY_CACHED, _KEYS_CACHED = 24, 512
_TOO_DEEP: Final = f"value nested deeper than {MAX_DEPTH} levels (or it contains itself)"


def _head(major: int, value: int, width: int = 0) -> bytes:
    initial = major << 5
    if width == 0:
        width = 0 if value < 24 else 1 if value < 0x100 else 2 if value < 0x10000 else 4 if value < 1 << 32 else 8
    if width == 0:
        return _SMALL[initial | value]
    if width == 1:
        return _HEAD1(initial | 24, value)
    if width == 2:
        return _HEAD2(initial | 25, value)
    return _HEAD4(initial | 26, value) if width == 4 else _HEAD8(initial | 27, value)


def _write(out: bytearray, item: Any, js: bool, depth: int) -> None:
    # The types the tree builders produce come first; a container checks the depth of its children.
    kind = type(item)
    if kind is str:
        out += _text(item)
    elif kind is int:
        if 0 <= item < 24:
            out.append(item)
        else:
            _write_int(out, item, 0)
    elif isinstance(item, dict):
        if item and depth >= MAX_DEPTH:
            raise ConfigError(_TOO_DEEP)
        size = len(item)
        out += _HEAD2(0xB9, size) if js and size < 0x10000 else _head(5, size)
        for key, value in item.items():
            if type(key) is str:
                out += _KEYS.get(key) or _key(key)
            else:
                _write(out, key, js, depth + 1)
            if type(value) is str:
                out += _text(value)
            else:
                _write(out, value, js, depth + 1)
    elif isinstance(item, list):
        if item and depth >= MAX_DEPTH:
            raise ConfigError(_TOO_DEEP)
        size = len(item)
        out += _SMALL[0x80 | size] if size < 24 else _head(4, size)
        for element in item:
            if type(element) is str:
                out += _text(element)
            else:
                _write(out, element, js, depth + 1)
    elif item is None:
        out.append(0xF6)
    elif item is True or item is False:
        out.append(0xF5 if item else 0xF4)
    elif kind is float and js:
        out += _FLOAT64(0xFB, item)
    elif kind is U64:
        _write_int(out, item, 8)
    else:
        _write_other(out, item, js, depth)


def _text(item: str) -> bytes:
    try:
        data = item.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(f"string is not encodable as UTF-8: {exc.reason}") from None
    size = len(data)
    return (_SMALL[0x60 | size] if size < 24 else _head(3, size)) + data


def _key(item: str) -> bytes:
    data = _text(item)
    if len(data) <= _KEY_CACHED and len(_KEYS) < _KEYS_CACHED:
        _KEYS[item] = data
    return data


def _write_int(out: bytearray, item: int, width: int) -> None:
    if not -(1 << 64) <= item < 1 << 64:
        raise ConfigError(f"integer {item} does not fit 64 bits")
    out += _head(0, item, width) if item >= 0 else _head(1, -1 - item, width)


def _write_other(out: bytearray, item: Any, js: bool, depth: int) -> None:
    if isinstance(item, int):
        _write_int(out, int(item), 4 if isinstance(item, U32) else 8 if isinstance(item, U64) else 0)
    elif isinstance(item, float):
        _write_float(out, float(item), js)
    elif isinstance(item, str):
        _write(out, str.__str__(item), js, depth)
    elif isinstance(item, bytes | bytearray | memoryview):
        data = bytes(item)
        out += _head(2, len(data))
        out += data
    elif isinstance(item, Pairs):
        if item.items and depth >= MAX_DEPTH:
            raise ConfigError(_TOO_DEEP)
        out += _head(5, len(item.items))
        for key, value in item.items:
            _write(out, key, js, depth + 1)
            _write(out, value, js, depth + 1)
    elif isinstance(item, Tag):
        if depth >= MAX_DEPTH:
            raise ConfigError(_TOO_DEEP)
        if not 0 <= item.tag < 1 << 64:
            raise ConfigError(f"CBOR tag {item.tag} does not fit 64 bits")
        out += _head(6, item.tag)
        _write(out, item.item, js, depth + 1)
    elif isinstance(item, Raw):
        out += item.data
    else:
        raise ConfigError(f"cannot encode a {type(item).__name__} as CBOR")


def _write_float(out: bytearray, value: float, js: bool) -> None:
    if not js:
        if math.isnan(value):
            out += b"\xf9\x7e\x00"
            return
        for fmt, head in ((">e", 0xF9), (">f", 0xFA)):
            try:
                packed = struct.pack(fmt, value)
            except (OverflowError, struct.error):
                continue
            if struct.unpack(fmt, packed)[0] == value:
                out.append(head)
                out += packed
                return
    out += _FLOAT64(0xFB, value)
