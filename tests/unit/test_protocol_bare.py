"""BARE primitives: exact encodings, bounds and the reader's refusals."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_protocol_strategies import PROPERTY

from rivetctl.errors import ConfigError, ProtocolError
from rivetctl.protocol.bare import U64_MAX, BareReader, BareWriter


@pytest.mark.parametrize(
    ("value", "hex_"),
    [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "8001"),
        (300, "ac02"),
        (2**63, "80808080808080808001"),
        (U64_MAX, "ffffffffffffffffff01"),
    ],
)
def test_uint_is_unsigned_leb128(value: int, hex_: str) -> None:
    writer = BareWriter()
    writer.uint(value)
    assert writer.getvalue().hex() == hex_
    reader = BareReader(bytes.fromhex(hex_))
    assert reader.uint() == value
    reader.done()


def test_fixed_width_bool_str_data_optional() -> None:
    writer = BareWriter()
    writer.u8(0xAB)
    writer.u16(0x0102)
    writer.u32(0x01020304)
    writer.u64(2**64 - 2)
    writer.bool(True)
    writer.str("hé")
    writer.data(b"\x00\xff")
    writer.optional(None, writer.str)
    writer.optional("x", writer.str)
    data = writer.getvalue()
    assert data.hex() == "ab020104030201feffffffffffffff010368c3a90200ff00010178"
    reader = BareReader(data)
    assert reader.u8() == 0xAB
    assert reader.u16() == 0x0102
    assert reader.u32() == 0x01020304
    assert reader.u64() == 2**64 - 2
    assert reader.bool() is True
    assert reader.str() == "hé"
    assert reader.data() == b"\x00\xff"
    assert reader.optional(reader.str) is None
    assert reader.optional(reader.str) == "x"
    assert reader.remaining == 0
    reader.done()


@pytest.mark.parametrize(
    ("hex_", "read", "problem"),
    [
        ("80", "uint", "truncated"),
        ("8000", "uint", "non-canonical"),
        ("ffffffffffffffffff02", "uint", "exceeds u64"),
        ("ffffffffffffffffffff01", "uint", "longer than 10"),
        ("02", "bool", "0 or 1"),
        ("05616263", "str", "need 5"),
        ("ffffffffffffffff7f", "data", "need"),
        ("02c328", "str", "UTF-8"),
        ("0102", "u64", "need 8"),
        ("", "u8", "need 1"),
    ],
)
def test_reader_refuses_malformed_input(hex_: str, read: str, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        getattr(BareReader(bytes.fromhex(hex_)), read)()


def test_done_refuses_trailing_bytes() -> None:
    reader = BareReader(b"\x01\x02")
    reader.u8()
    with pytest.raises(ProtocolError, match="trailing"):
        reader.done()


@pytest.mark.parametrize(
    ("method", "value"), [("uint", -1), ("uint", 2**64), ("u8", 256), ("u16", 1 << 16), ("u64", -1)]
)
def test_writer_refuses_out_of_range_with_config_error(method: str, value: int) -> None:
    with pytest.raises(ConfigError):
        getattr(BareWriter(), method)(value)


def test_writer_refuses_unencodable_strings() -> None:
    with pytest.raises(ConfigError):
        BareWriter().str("\udc80")


@PROPERTY
@given(st.integers(0, U64_MAX), st.text(), st.binary(), st.none() | st.booleans())
def test_round_trip(number: int, text: str, blob: bytes, flag: bool | None) -> None:
    writer = BareWriter()
    writer.uint(number)
    writer.str(text)
    writer.data(blob)
    writer.optional(flag, writer.bool)
    reader = BareReader(writer.getvalue())
    assert (reader.uint(), reader.str(), reader.data(), reader.optional(reader.bool)) == (
        number,
        text,
        blob,
        flag,
    )
    reader.done()


@PROPERTY
@given(
    st.binary(max_size=64),
    st.lists(st.sampled_from(["uint", "u8", "u16", "u64", "bool", "str", "data"]), max_size=8),
)
def test_reader_raises_only_protocol_error(data: bytes, reads: list[str]) -> None:
    reader = BareReader(data)
    try:
        for read in reads:
            result: Any = getattr(reader, read)()
            assert result is not None
        reader.done()
    except ProtocolError:
        pass
