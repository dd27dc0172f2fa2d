"""CBOR through cbor2: plain trees to bytes and back, every tag left to the value model.

This module knows CBOR, not RivetKit values: :mod:`rivetctl.protocol.values` maps Python values to the trees
written here, and :mod:`rivetctl.protocol.revive` gives the trees read here their meaning. Trees are made of
``None``/bool/int/float/str/bytes/list/dict, :class:`cbor2.CBORTag`, :class:`PairMap` (a map whose keys a dict
cannot hold) and :class:`U64` (an unsigned int written in 8 bytes).

cbor2 writes integers and headers in their shortest form and every float as a float64, as cbor-x does for JS
numbers; it does not copy cbor-x's 16-bit map headers, which no reader needs. On reading, cbor2's own meanings
of tags (its datetimes, fractions, UUIDs, shared and string references…) are switched off: every tag comes
back a :class:`cbor2.CBORTag`, and a map key that is an array or a map comes back a tuple or a frozendict.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import cbor2

from rivetctl.errors import ConfigError, ProtocolError

MAX_DEPTH: Final = 200
"""Deepest nesting (arrays, maps and tags) the reader and the value model accept."""


@dataclass(frozen=True, slots=True)
class U64:
    """An unsigned int written with an 8-byte argument (``1b``), as RivetKit writes message ids."""

    value: int


class PairMap(Mapping[Any, Any]):
    """A CBOR map given as ``(key, value)`` pairs: keys may be unhashable or equal in Python (``1``, ``True``).

    cbor2 writes a mapping as its length and its ``items()``; lookups by key are not needed and find nothing.
    """

    __slots__ = ("_pairs",)

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self._pairs = pairs

    def __len__(self) -> int:
        return len(self._pairs)

    def __iter__(self) -> Iterator[Any]:
        return (key for key, _ in self._pairs)

    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return self._pairs


_UINT64_HEAD: Final = b"\x1b"


def _default(encoder: cbor2.CBOREncoder, value: Any) -> None:
    if type(value) is U64:
        encoder.write(_UINT64_HEAD + value.value.to_bytes(8, "big"))
        return
    raise ConfigError(f"cannot encode a {type(value).__name__} as CBOR")


def encode(tree: Any, *, canonical: bool = False) -> bytes:
    """The CBOR bytes of a tree (``canonical``: sorted keys and shortest floats, the way the server writes).

    Raises:
        ConfigError: a value has no CBOR form here (a string that is not UTF-8, an unknown type, an int
            beyond 64 bits in a :class:`U64`).
    """
    try:
        return cbor2.dumps(tree, default=_default, canonical=canonical)
    except UnicodeEncodeError as exc:
        raise ConfigError(f"string is not encodable as UTF-8: {exc.reason}") from None
    except OverflowError:
        raise ConfigError("integer does not fit 64 bits") from None
    except (cbor2.CBOREncodeError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot encode as CBOR: {_line(exc)}") from None


def _keep(tag: int) -> Callable[[Any, bool], cbor2.CBORTag]:
    def keep(value: Any, _immutable: bool) -> cbor2.CBORTag:
        return cbor2.CBORTag(tag, value)

    return keep


_CBOR2_TAGS: Final = (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 1004, 43000)
_RIVETKIT_TAGS: Final = (0, 1, 2, 3, 27, 64, 258, 259, 55799)
_SEMANTIC: Final = {tag: _keep(tag) for tag in sorted({*_CBOR2_TAGS, *_RIVETKIT_TAGS})}
"""Every tag cbor2 decodes itself (its documented list) and every tag the value model reads, kept a CBORTag;
cbor2 leaves any other tag a CBORTag by itself."""


def decode(data: bytes) -> Any:
    """The tree of exactly one CBOR item.

    Raises:
        ProtocolError: malformed or truncated CBOR, trailing bytes, invalid UTF-8, nesting deeper than
            ``MAX_DEPTH``.
    """
    stream = io.BytesIO(data)
    try:
        tree = cbor2.CBORDecoder(stream, semantic_decoders=_SEMANTIC, max_depth=MAX_DEPTH).decode()
    except cbor2.CBORDecodeError as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt | SystemExit):
            raise exc.__cause__ from None
        raise ProtocolError(f"CBOR: {_line(exc)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise ProtocolError(f"CBOR: {_line(exc)}") from None
    trailing = len(data) - stream.tell()
    if trailing:
        raise ProtocolError(f"CBOR: {trailing} trailing byte(s)")
    return tree


def _line(exc: BaseException) -> str:
    """The first line of ``exc`` and of what caused it, for a one-line error."""
    lines = [str(e).strip().splitlines()[0] for e in (exc, exc.__cause__) if e is not None and str(e).strip()]
    text = f"{lines[0]} ({lines[1]})" if len(lines) == 2 else "".join(lines)
    return text[:160] or type(exc).__name__
