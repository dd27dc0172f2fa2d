"""Low-level CBOR: plain trees to bytes in cbor-x's or the server's layout, and a hardened reader back.

This module knows CBOR, not RivetKit values; :mod:`rivetctl.protocol.values` maps Python values to the trees
written here and revives what the reader returns. Two writer styles exist because the two sides differ:

- ``"js"`` is what the official client's cbor-x writes: every JS object gets a 16-bit map header
  (``b9 0001``) and every non-integer number is a float64 (``fb``).
- ``"canonical"`` is what the server (Rust) writes: minimal map headers and the shortest exact float.

Integers are always written in their shortest form unless wrapped in :class:`U32` / :class:`U64`
(cbor-x writes ``Date`` seconds as a 32-bit and message ids as 64-bit uints).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Literal

from rivetctl.errors import ConfigError, ProtocolError

Style = Literal["js", "canonical"]
MAX_DEPTH = 200
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
    _write(out, tree, style, 0)
    return bytes(out)


def _head(out: bytearray, major: int, value: int, width: int = 0) -> None:
    if width == 0:
        width = 0 if value < 24 else 1 if value < 0x100 else 2 if value < 0x10000 else 4 if value < 1 << 32 else 8
    if width == 0:
        out.append(major << 5 | value)
    else:
        out.append(major << 5 | {1: 24, 2: 25, 4: 26, 8: 27}[width])
        out += value.to_bytes(width, "big")


def _write(out: bytearray, item: Any, style: Style, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ConfigError(f"value nested deeper than {MAX_DEPTH} levels (or it contains itself)")
    if item is None:
        out.append(0xF6)
    elif item is True or item is False:
        out.append(0xF5 if item else 0xF4)
    elif isinstance(item, int):
        width = 4 if isinstance(item, U32) else 8 if isinstance(item, U64) else 0
        if not -(1 << 64) <= item < 1 << 64:
            raise ConfigError(f"integer {item} does not fit 64 bits")
        if item >= 0:
            _head(out, 0, item, width)
        else:
            _head(out, 1, -1 - item, width)
    elif isinstance(item, float):
        _write_float(out, item, style)
    elif isinstance(item, str):
        try:
            data = item.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ConfigError(f"string is not encodable as UTF-8: {exc.reason}") from None
        _head(out, 3, len(data))
        out += data
    elif isinstance(item, bytes | bytearray | memoryview):
        data = bytes(item)
        _head(out, 2, len(data))
        out += data
    elif isinstance(item, list):
        _head(out, 4, len(item))
        for element in item:
            _write(out, element, style, depth + 1)
    elif isinstance(item, dict):
        wide = style == "js" and len(item) < 0x10000
        _head(out, 5, len(item), 2 if wide else 0)
        for key, value in item.items():
            _write(out, key, style, depth + 1)
            _write(out, value, style, depth + 1)
    elif isinstance(item, Pairs):
        _head(out, 5, len(item.items))
        for key, value in item.items:
            _write(out, key, style, depth + 1)
            _write(out, value, style, depth + 1)
    elif isinstance(item, Tag):
        _head(out, 6, item.tag)
        _write(out, item.item, style, depth + 1)
    elif isinstance(item, Raw):
        out += item.data
    else:
        raise ConfigError(f"cannot encode a {type(item).__name__} as CBOR")


def _write_float(out: bytearray, value: float, style: Style) -> None:
    if style == "canonical":
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
    out.append(0xFB)
    out += struct.pack(">d", value)


def decode(data: bytes, *, undefined: Any) -> Any:
    """Decode exactly one CBOR item into a plain tree: maps become :class:`Pairs`, tags :class:`Tag`.

    Args:
        data: the CBOR bytes.
        undefined: what to return for the simple value ``undefined`` (``f7``).

    Raises:
        ProtocolError: truncated or trailing bytes, bad header, lengths beyond the input, invalid UTF-8,
            reserved or unsupported simple values, nesting beyond ``MAX_DEPTH``.
    """
    reader = _Reader(bytes(data), undefined)
    value = reader.item(0)
    if reader.pos != len(reader.data):
        raise ProtocolError(f"CBOR: {len(reader.data) - reader.pos} trailing byte(s)")
    return value


_BREAK = object()


class _Reader:
    def __init__(self, data: bytes, undefined: Any) -> None:
        self.data, self.pos, self.undefined = data, 0, undefined

    def take(self, size: int) -> bytes:
        if size > len(self.data) - self.pos:
            raise ProtocolError(f"CBOR: item of {size} byte(s) runs past the end of the input")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def item(self, depth: int, allow_break: bool = False) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"CBOR: nested deeper than {MAX_DEPTH} levels")
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            return self.simple(info, allow_break)
        if info == 31:
            return self.indefinite(major, depth)
        if info < 24:
            arg = info
        elif info <= 27:
            arg = int.from_bytes(self.take(1 << (info - 24)), "big")
        else:
            raise ProtocolError(f"CBOR: reserved additional information {info}")
        if major == 0:
            return arg
        if major == 1:
            return -1 - arg
        if major == 2:
            return self.take(arg)
        if major == 3:
            return _utf8(self.take(arg))
        if major == 4:
            self.check_count(arg)
            return [self.item(depth + 1) for _ in range(arg)]
        if major == 5:
            self.check_count(2 * arg)
            return Pairs([(self.item(depth + 1), self.item(depth + 1)) for _ in range(arg)])
        return Tag(arg, self.item(depth + 1))

    def check_count(self, count: int) -> None:
        # Every item takes at least one byte: refuse counts the input cannot hold before allocating.
        if count > len(self.data) - self.pos:
            raise ProtocolError(f"CBOR: {count} items announced, only {len(self.data) - self.pos} bytes left")

    def simple(self, info: int, allow_break: bool) -> Any:
        if info == 20 or info == 21:
            return info == 21
        if info == 22:
            return None
        if info == 23:
            return self.undefined
        if info in (25, 26, 27):
            size = 1 << (info - 24)
            return float(struct.unpack({2: ">e", 4: ">f", 8: ">d"}[size], self.take(size))[0])
        if info == 31 and allow_break:
            return _BREAK
        raise ProtocolError(f"CBOR: unsupported simple value or break (0x{0xE0 | info:02x})")

    def indefinite(self, major: int, depth: int) -> Any:
        if major in (2, 3):
            chunks: list[Any] = []
            while (chunk := self.item(depth + 1, allow_break=True)) is not _BREAK:
                if not isinstance(chunk, bytes if major == 2 else str):
                    raise ProtocolError("CBOR: indefinite string has a chunk of another type")
                chunks.append(chunk)
            return (b"" if major == 2 else "").join(chunks)
        if major == 4:
            items = []
            while (element := self.item(depth + 1, allow_break=True)) is not _BREAK:
                items.append(element)
            return items
        if major == 5:
            entries = []
            while (key := self.item(depth + 1, allow_break=True)) is not _BREAK:
                entries.append((key, self.item(depth + 1)))
            return Pairs(entries)
        raise ProtocolError(f"CBOR: major type {major} cannot have indefinite length")


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("CBOR: text string is not valid UTF-8") from None
