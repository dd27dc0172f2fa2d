"""What a rivetkit 2.3.19 actor made of the bytes rivetctl sends, replayed from a recorded probe.

``record_probe.py`` sent these values to ``counter.describeArgs`` (which reports how the actor saw each
argument) with rivetctl's own codecs and recorded both directions. The tests check that rivetctl still writes
what those bytes say (JSON byte for byte; CBOR the same data model, every number of the same CBOR type), so the
recorded verdicts still hold, and that it reads the answers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_protocol_strategies import assert_same_on_the_wire, canon

from rivetctl.protocol import encoding as codec
from rivetctl.protocol.encoding import Encoding
from rivetctl.protocol.messages import ActionRequest, ActionResponse, HttpActionRequest, HttpQueueSendRequest
from rivetctl.protocol.values import UNDEFINED, JsMap, Tagged

PROBE = Path(__file__).parent.parent / "data" / "captures" / "rivetctl-probe-2.3.19.jsonl"

SENT: list[tuple[Any, str]] = [
    (5, "number:5"),
    (2**40, "number:1099511627776"),  # written as a float: a JSON/CBOR integer ≥ 2**32 becomes a bigint
    (-(2**32) - 1, "number:-4294967297"),
    (2**70, "bigint:1180591620717411303424"),
    (-(2**70), "bigint:-1180591620717411303424"),
    (1.5, "number:1.5"),
    (b"\x00\x01\xff", "bytes:0,1,255"),
    (UNDEFINED, "undefined"),
    (None, "null"),
    ({1, 3}, "set:1,3"),  # (int items only: a str's hash, so the set's order, changes per process)
    (["$fake", 1], "array:2"),  # escaped to ["$$fake", 1]; unescaped it would fail the action
    (["$$x", 2], "array:2"),
    ({"a": [1, {"b": None}]}, 'object:{"a":[1,{"b":null}]}'),
    ("héllo 🎉", "string:héllo 🎉"),
    (True, "boolean:true"),
    (4294967295, "number:4294967295"),
    (-(2**32), "number:-4294967296"),
]
BARE_ONLY: list[tuple[Any, str]] = [
    (datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC), "date:1700000000123"),
    (JsMap(a=1), "map:a"),
    ({1: "x"}, "map:1"),
    (Tagged(258, [1, 2]), "set:1,2"),  # cbor-x's native Set tag
]
ENCODINGS: list[Encoding] = ["json", "cbor", "bare"]


def _probe(ident: str, enc: str, direction: str) -> bytes:
    for line in map(json.loads, PROBE.read_text(encoding="utf-8").splitlines()):
        if (line["id"], line["enc"], line["dir"]) == (ident, enc, direction):
            return bytes.fromhex(line["hex"]) if "hex" in line else line["text"].encode()
    raise LookupError(ident)


def _cases(enc: str) -> list[tuple[Any, str]]:
    return SENT + (BARE_ONLY if enc == "bare" else [])


@pytest.mark.parametrize("enc", ENCODINGS)
def test_how_the_actor_sees_values_sent_over_http(enc: Encoding) -> None:
    values = [value for value, _ in _cases(enc)]
    ours = codec.encode_http_request(HttpActionRequest(values), enc)
    sent = _probe("http-describeArgs", enc, "C>S")
    assert_same_on_the_wire(ours, sent, enc, lambda d: codec.decode_http_action_request(d, enc))
    answer = codec.decode_http_action_response(_probe("http-describeArgs", enc, "S>C"), enc)
    assert answer.output == [seen for _, seen in _cases(enc)]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_how_the_actor_sees_values_sent_over_websocket(enc: Encoding) -> None:
    values = [value for value, _ in _cases(enc)]
    ours = codec.encode_to_server(ActionRequest(7, "describeArgs", values), enc)
    sent = _probe("ws-describeArgs", enc, "C>S")
    assert_same_on_the_wire(ours, sent, enc, lambda d: codec.decode_to_server(d, enc))
    answer = codec.decode_to_client(_probe("ws-describeArgs", enc, "S>C"), enc)
    assert answer == ActionResponse(7, [seen for _, seen in _cases(enc)])


TYPES = {
    "bigint": 12345678901234567890,
    "bytes": b"\x00\x01\x02\xfd\xfe\xff",
    "undef": UNDEFINED,
    "nul": None,
    "set": {1, "two", 3},
    "nested": {"list": [1, 2.5, {"deep": [True, False]}], "empty": {}},
    "unicode": "héllo wörld ✓ 日本語 🎉",
    "dollar": ["$fake", 1],
}
TAGGED = {"map": {"a": 1, "b": 2}, "date": datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)}


@pytest.mark.parametrize(
    ("ident", "enc", "expected"),
    [
        ("http-jsonTypes", "json", TYPES),
        ("http-jsonTypes", "cbor", TYPES),
        ("http-jsonTypes", "bare", TYPES),
        ("http-types", "json", None),  # a Map or Date makes the server answer output null over json/cbor
        ("http-types", "cbor", None),
        ("http-types", "bare", TYPES | TAGGED),
        ("ws-types", "json", TYPES),  # jsonTypes: over WS json, types() closes the socket (send_failed)
        ("ws-types", "cbor", TYPES | TAGGED),  # WS cbor splices the actor's raw CBOR: tags survive
        ("ws-types", "bare", TYPES | TAGGED),
    ],
)
def test_what_the_actor_sends_for_each_js_type(ident: str, enc: Encoding, expected: Any) -> None:
    data = _probe(ident, enc, "S>C")
    if ident.startswith("http"):
        output = codec.decode_http_action_response(data, enc).output
    else:
        message = codec.decode_to_client(data, enc)
        assert isinstance(message, ActionResponse)
        output = message.output
    assert canon(output) == canon(expected)


@pytest.mark.parametrize("enc", ENCODINGS)
def test_queue_send(enc: Encoding) -> None:
    request = HttpQueueSendRequest({"x": 1}, name="jobs", wait=True, timeout=100)
    ours = codec.encode_http_request(request, enc)
    assert_same_on_the_wire(
        ours, _probe("http-queue", enc, "C>S"), enc, lambda d: codec.decode_http_queue_request(d, enc)
    )
    assert codec.decode_http_queue_request(_probe("http-queue", enc, "C>S"), enc) == request
    response = codec.decode_http_queue_response(_probe("http-queue", enc, "S>C"), enc)
    assert (response.status, response.response) == ("completed", None)
