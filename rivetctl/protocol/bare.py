"""BARE primitives (``uint`` varints, fixed-width ints, ``bool``, ``str``, ``data``, ``optional``), pure.

Only what the RivetKit client protocol uses (§9.2 of the protocol reference). The reader is written for
hostile input: varints are bounded to u64 and must be canonical (as ``@rivetkit/bare-ts`` requires), every
length is checked against the bytes that remain before anything is sliced, and every failure is a
:class:`~rivetctl.errors.ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rivetctl.errors import ConfigError, ProtocolError

T = TypeVar("T")

U64_MAX = (1 << 64) - 1
_MAX_VARINT_BYTES = 10  # ceil(64 / 7)


class BareWriter:
    """Appends BARE-encoded values to an internal buffer; ``getvalue()`` returns the bytes."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        """The bytes written so far."""
        return bytes(self._buf)

    def raw(self, data: bytes) -> None:
        """Append bytes verbatim (no length prefix)."""
        self._buf += data

    def uint(self, value: int) -> None:
        """Unsigned LEB128 varint, 0 ≤ value < 2**64."""
        if type(value) is int and 0 <= value < 0x80:  # the common case: one byte
            self._buf.append(value)
            return
        _check_range(value, U64_MAX, "uint")
        while value >= 0x80:
            self._buf.append((value & 0x7F) | 0x80)
            value >>= 7
        self._buf.append(value)

    def _fixed(self, value: int, size: int, name: str) -> None:
        _check_range(value, (1 << (8 * size)) - 1, name)
        self._buf += value.to_bytes(size, "little")

    def u8(self, value: int) -> None:
        """One byte."""
        self._fixed(value, 1, "u8")

    def u16(self, value: int) -> None:
        """Two bytes, little-endian."""
        self._fixed(value, 2, "u16")

    def u32(self, value: int) -> None:
        """Four bytes, little-endian."""
        self._fixed(value, 4, "u32")

    def u64(self, value: int) -> None:
        """Eight bytes, little-endian."""
        self._fixed(value, 8, "u64")

    def bool(self, value: bool) -> None:
        """One byte, 0 or 1."""
        self._buf.append(1 if value else 0)

    def data(self, value: bytes) -> None:
        """``uint`` length followed by the bytes."""
        self.uint(len(value))
        self._buf += value

    def str(self, value: str) -> None:
        """``uint`` byte length followed by UTF-8."""
        try:
            encoded = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ConfigError(f"string is not encodable as UTF-8: {exc.reason}") from None
        self.data(encoded)

    def optional(self, value: T | None, write_fn: Callable[[T], None]) -> None:
        """``0`` for ``None``, else ``1`` followed by ``write_fn(value)``."""
        if value is None:
            self._buf.append(0)
        else:
            self._buf.append(1)
            write_fn(value)


class BareReader:
    """Reads BARE values from ``data`` front to back; every malformed input raises ``ProtocolError``."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self._data) - self._pos

    def done(self) -> None:
        """Raise ``ProtocolError`` unless every byte has been read."""
        if self._pos != len(self._data):
            raise ProtocolError(f"BARE: {self.remaining} unexpected trailing byte(s)")

    def _take(self, size: int) -> bytes:
        pos = self._pos
        end = pos + size
        if end > len(self._data):
            raise ProtocolError(f"BARE: need {size} byte(s) at offset {pos}, only {self.remaining} left")
        self._pos = end
        return self._data[pos:end]

    def uint(self) -> int:
        """Canonical unsigned LEB128 varint of at most 10 bytes (a u64)."""
        pos = self._pos
        if pos < len(self._data) and self._data[pos] < 0x80:  # the common case: one byte
            self._pos = pos + 1
            return self._data[pos]
        value = 0
        for index in range(_MAX_VARINT_BYTES):
            if self._pos >= len(self._data):
                raise ProtocolError("BARE: truncated varint")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << (7 * index)
            if byte < 0x80:
                if byte == 0 and index > 0:
                    raise ProtocolError("BARE: non-canonical varint")
                if value > U64_MAX:
                    raise ProtocolError("BARE: varint exceeds u64")
                return value
        raise ProtocolError("BARE: varint longer than 10 bytes")

    def u8(self) -> int:
        """One byte."""
        pos = self._pos
        if pos >= len(self._data):
            raise ProtocolError(f"BARE: need 1 byte(s) at offset {pos}, only 0 left")
        self._pos = pos + 1
        return self._data[pos]

    def u16(self) -> int:
        """Two bytes, little-endian."""
        return int.from_bytes(self._take(2), "little")

    def u32(self) -> int:
        """Four bytes, little-endian."""
        return int.from_bytes(self._take(4), "little")

    def u64(self) -> int:
        """Eight bytes, little-endian."""
        return int.from_bytes(self._take(8), "little")

    def bool(self) -> bool:
        """One byte that must be 0 or 1."""
        byte = self.u8()
        if byte > 1:
            raise ProtocolError(f"BARE: bool byte must be 0 or 1, got {byte}")
        return byte == 1

    def data(self) -> bytes:
        """``uint`` length followed by that many bytes."""
        return self._take(self.uint())

    def str(self) -> str:
        """``uint`` length followed by UTF-8."""
        try:
            return self.data().decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("BARE: string is not valid UTF-8") from None

    def optional(self, read_fn: Callable[[], T]) -> T | None:
        """``None`` after a ``0`` byte; ``read_fn()`` after a ``1`` byte."""
        return read_fn() if self.bool() else None


def _check_range(value: int, maximum: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ConfigError(f"{value!r} does not fit a BARE {name}")
