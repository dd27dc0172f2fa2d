"""Garbage in, only ``ProtocolError`` out: every decoder against random, mutated and adversarial input.

The default run uses ``GARBAGE`` (``RIVETCTL_GARBAGE_EXAMPLES`` examples per property); ``pytest -m fuzz``
runs all the input strategies together with ``FUZZ_EXAMPLES`` (10^5 by default, ``RIVETCTL_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_protocol_strategies import FUZZ_EXAMPLES, GARBAGE, PROPERTY

from rivetctl.errors import ActorRef, ProtocolError
from rivetctl.protocol import encoding as codec
from rivetctl.protocol.messages import ActionRequest, Error, HttpQueueSendRequest
from rivetctl.protocol.values import UNDEFINED, JsMap, Tagged, dumps_cbor, from_json_compat, loads_cbor

CAPTURES = Path(__file__).parent.parent / "data" / "captures"

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


def _decoders(enc: codec.Encoding) -> list[Callable[[Any], Any]]:
    return [
        lambda d: codec.decode_to_server(d, enc),
        lambda d: codec.decode_to_client(d, enc),
        lambda d: codec.decode_http_action_request(d, enc),
        lambda d: codec.decode_http_queue_request(d, enc),
        lambda d: codec.decode_http_action_response(d, enc),
        lambda d: codec.decode_http_queue_response(d, enc),
        lambda d: codec.decode_http_error(d, None, enc),
        lambda d: codec.decode_http_error(d, "application/json", enc),
    ]


DECODERS = [decode for enc in codec.ENCODINGS for decode in _decoders(enc)] + [loads_cbor]


def only_protocol_errors(data: bytes | str) -> None:
    """Feed ``data`` to every decoder; anything but success or ``ProtocolError`` fails the test."""
    for decode in DECODERS:
        with contextlib.suppress(ProtocolError):
            decode(data)


# --- inputs ------------------------------------------------------------------------------------------

_FIELDS = ["id", "name", "args", "output", "actorId", "connectionId", "group", "code", "message", "metadata"]
_FIELDS += ["actionId", "actor", "eventName", "subscribe", "status", "response", "body", "generation", "key"]
_TAGS = ["Init", "Error", "ActionResponse", "Event", "ActionRequest", "SubscriptionRequest", "Nope", 1, None]
_BAD_PAIRS = [["$BigInt", "x"], ["$Set", 1], ["$Uint8Array", "!"], ["$Undefined"]]
_huge_bigint = st.builds(lambda: ["$BigInt", "9" * 5000])  # past Python's int-from-str digit limit

_junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(_BAD_PAIRS)
    | _huge_bigint,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=4), c, max_size=4),
    max_leaves=10,
)
_envelopes = _junk | st.builds(
    lambda tag, val: {"body": {"tag": tag, "val": val}},
    st.sampled_from(_TAGS),
    st.dictionaries(st.sampled_from(_FIELDS), _junk, max_size=6),
)
_cbor_junk = _envelopes | st.recursive(
    st.binary(max_size=8) | st.integers() | st.text(max_size=4) | st.sampled_from(_BAD_PAIRS),
    lambda c: (
        st.builds(cbor2.CBORTag, st.sampled_from([0, 1, 2, 3, 27, 64, 258, 259, 55799, 999]), c)
        | st.lists(c, max_size=3)
        | st.dictionaries(st.sampled_from(_FIELDS), c, max_size=3)
    ),
    max_leaves=6,
)

json_inputs = _envelopes.map(lambda tree: json.dumps(tree))
cbor_inputs = _cbor_junk.map(lambda tree: cbor2.dumps(tree))
bare_inputs = st.builds(
    lambda version, tag, rest: version.to_bytes(2, "little") + bytes([tag]) + rest,
    st.integers(0, 6),
    st.integers(0, 5),
    st.binary(max_size=64),
)
random_inputs = st.binary(max_size=256) | st.text(max_size=64)


def _corpus() -> list[bytes]:
    """Valid frames and bodies: everything captured from real clients and servers, plus rich values."""
    frames = set()
    for path in CAPTURES.glob("*.jsonl"):
        for line in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            if "hex" in line:
                frames.add(bytes.fromhex(line["hex"]))
            elif line.get("text", "").startswith("{"):
                frames.add(line["text"].encode())
    rich = [2**70, b"\x00", UNDEFINED, {1, 2}, ["$x", [1.5, None]], {"k": {"n": -(2**40)}}]
    for enc in codec.ENCODINGS:
        frames.add(codec.encode_to_server(ActionRequest(2**64 - 1, "act", rich), enc))
        frames.add(codec.encode_to_client(Error("g", "c", "m", rich, 3, ActorRef("a", 2, "k")), enc))
        frames.add(codec.encode_http_request(HttpQueueSendRequest(rich, "q", True, 5), enc))
    frames.add(dumps_cbor([datetime(2020, 1, 1, tzinfo=UTC), JsMap({1: 2}), Tagged(27, ["RegExp", "a", ""])]))
    return sorted(frames)


CORPUS = _corpus()


@st.composite
def mutated_inputs(draw: st.DrawFn) -> bytes:
    """A valid frame or body with a few bytes flipped, cut, inserted, deleted or replaced."""
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "set"]))
        pos = draw(st.integers(0, len(data)))
        if op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 4))]
        elif pos < len(data):
            data[pos] = data[pos] ^ (1 << draw(st.integers(0, 7))) if op == "flip" else draw(_MAGIC)
    return bytes(data)


_MAGIC = st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF, 0x1B, 0x5B, 0x7B, 0x9B, 0xBB, 0xDB, 0xF7, 0x9F])


# --- properties --------------------------------------------------------------------------------------


@GARBAGE
@given(random_inputs)
def test_random_bytes_and_text(data: bytes | str) -> None:
    only_protocol_errors(data)


@GARBAGE
@given(mutated_inputs())
def test_mutated_valid_messages(data: bytes) -> None:
    only_protocol_errors(data)


@GARBAGE
@given(json_inputs | cbor_inputs)
def test_well_formed_json_and_cbor_with_wrong_shapes(data: bytes | str) -> None:
    only_protocol_errors(data)


@GARBAGE
@given(bare_inputs)
def test_bare_with_any_version_and_union_tag(data: bytes) -> None:
    only_protocol_errors(data)


@PROPERTY
@given(_junk)
def test_from_json_compat_on_any_tree(tree: Any) -> None:
    with contextlib.suppress(ProtocolError):
        from_json_compat(tree)


@pytest.mark.fuzz
@pytest.mark.timeout(0)
@FUZZ
@given(random_inputs | mutated_inputs() | json_inputs | cbor_inputs | bare_inputs)
def test_fuzz_every_decoder(data: bytes | str) -> None:
    only_protocol_errors(data)


# --- adversarial inputs, one by one -----------------------------------------------------------------

ADVERSARIAL: dict[str, bytes | str] = {
    "deep json arrays": "[" * 100_000 + "]" * 100_000,
    "deep json objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "unterminated json": '{"body":',
    "json int of 5000 digits": '{"output":' + "9" * 5000 + "}",
    "json bigint of 5000 digits": '{"output":["$BigInt","' + "9" * 5000 + '"]}',
    "json not utf-8": b'{"output":"\xff"}',
    "json NaN output": '{"output":NaN}',
    "deep cbor arrays": b"\x81" * 100_000 + b"\x00",
    "deep cbor tags": b"\xc1" * 100_000 + b"\x00",
    "deep indefinite arrays": b"\x9f" * 10_000,
    "cbor array of 2**64 items": b"\x9b" + b"\xff" * 8,
    "cbor map of 2**64 pairs": b"\xbb" + b"\xff" * 8,
    "cbor 4 GiB byte string": b"\x5a\xff\xff\xff\xff",
    "cbor 2**64 text string": b"\x7b" + b"\xff" * 8 + b"a",
    "cbor bignum of 1 MiB": b"\xc2\x5a\x00\x10\x00\x00" + b"\x01" * (1 << 20),
    "cbor invalid utf-8": b"\x62\xc3\x28",
    "cbor reserved info": b"\x1c",
    "cbor lone break": b"\xff",
    "cbor simple value": b"\xf8\x20",
    "cbor unterminated indefinite": b"\x5f\x41\x00",
    "cbor mixed indefinite chunks": b"\x5f\x61\x61\xff",
    "cbor trailing bytes": b"\x00\x00",
    "cbor empty": b"",
    "cbor map with list key": b"\xa1\x80\x00",
    "cbor tag 259 on a list": b"\xd9\x01\x03\x80",
    "cbor date out of range": b"\xc1\xfb\x7f\xef\xff\xff\xff\xff\xff\xff",
    "bare varint 11 bytes": b"\x04\x00\x02" + b"\xff" * 10 + b"\x01",
    "bare varint beyond u64": b"\x04\x00\x02" + b"\xff" * 9 + b"\x7f",
    "bare non-canonical varint": b"\x04\x00\x02\x80\x00",
    "bare data of 2**63 bytes": b"\x04\x00\x03\x01a" + b"\xff" * 8 + b"\x7f",
    "bare bool 2": b"\x04\x00\x01\x01a\x02",
    "bare union tag 200": b"\x04\x00\xc8",
    "bare trailing bytes": b"\x04\x00\x00\x01a\x01c\x00",
    "bare truncated version": b"\x04",
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs(name: str) -> None:
    only_protocol_errors(ADVERSARIAL[name])
