"""Low-level CBOR reading: cbor2's Rust decoder where its answer is certain, a hardened pure-Python reader
as the authority everywhere else.

:func:`decode_fast` returns cbor2's tree (maps as dicts, tags as :class:`~.cbor.Tag`, ``cbor2.undefined``) or
:data:`UNSURE`; :func:`decode` returns the pure reader's tree (maps as :class:`~.cbor.Pairs`). Callers use the
fast tree only when it holds nothing the pure reader would have read differently (see
:mod:`rivetctl.protocol.revive`), and otherwise decode again with :func:`decode`, so both give one answer.
"""

from __future__ import annotations

import io
import struct
from functools import partial
from typing import Any, Final

import cbor2

from rivetctl.errors import ProtocolError
from rivetctl.protocol.cbor import MAX_DEPTH, Pairs, Tag

UNSURE: Final = object()
"""What :func:`decode_fast` returns when only :func:`decode` can tell what ``data`` holds."""


def _tag(number: int, item: Any, _immutable: bool) -> Tag:
    return Tag(number, item)


class _EveryTag(dict[int, Any]):
    """cbor2 ``semantic_decoders`` that keep every tag a :class:`Tag`: none of cbor2's own meanings (dates,
    bignums, sets, shared and string references…) applies, so the tree is the pure reader's."""

    def __missing__(self, number: int) -> Any:
        return partial(_tag, number)


_EVERY_TAG: Final = _EveryTag()


def decode_fast(data: bytes) -> Any:
    """cbor2's tree for exactly one CBOR item, or :data:`UNSURE` (malformed, trailing bytes, a map key twice).

    cbor2 nests as the pure reader does (arrays, maps, tags) but does not count the chunks of an
    indefinite-length string as a level: one level less keeps whatever it accepts within ``MAX_DEPTH``.
    Duplicate keys are refused, since a dict would keep only the last one where the pure reader keeps all.
    """
    stream = io.BytesIO(data)
    try:
        tree = cbor2.CBORDecoder(
            stream, semantic_decoders=_EVERY_TAG, max_depth=MAX_DEPTH - 1, allow_duplicate_keys=False
        ).decode()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # also pyo3's PanicException, a BaseException, should cbor2 panic
        return UNSURE
    return tree if stream.tell() == len(data) else UNSURE


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
