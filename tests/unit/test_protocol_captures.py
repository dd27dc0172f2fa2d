"""Checks against frames captured from the official TS client and a rivetkit 2.3.19 server.

``official-client-*.jsonl`` are proxy captures (tests/data/captures/README.md). Every frame must decode to the
expected message, and what we write for that message must say the same on the wire: JSON byte for byte, CBOR
as the same data model (cbor-x writes 16-bit map headers, cbor2 the shortest), BARE with our version 2 instead
of the official 4 and values of the same types.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from test_protocol_strategies import assert_same_on_the_wire, canon

from rivetctl.errors import ActorRef
from rivetctl.protocol import encoding as codec
from rivetctl.protocol.encoding import Encoding
from rivetctl.protocol.messages import (
    ActionRequest,
    ActionResponse,
    Error,
    Event,
    HttpActionRequest,
    HttpActionResponse,
    HttpResponseError,
    Init,
    SubscriptionRequest,
)

CAPTURES = Path(__file__).parent.parent / "data" / "captures"
ENCODINGS: list[Encoding] = ["json", "cbor", "bare"]


@cache
def _lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CAPTURES / name).read_text(encoding="utf-8").splitlines()]


def _payload(line: dict[str, Any]) -> bytes:
    return bytes.fromhex(line["hex"]) if "hex" in line else line["text"].encode("utf-8")


def _session(enc: str) -> list[tuple[str, bytes]]:
    """The WebSocket frames of the first connection in the official capture: (direction, payload)."""
    frames = [x for x in _lines(f"official-client-{enc}.jsonl") if x.get("op") in ("text", "binary")]
    first = frames[0]["conn"]
    return [(x["dir"], _payload(x)) for x in frames if x["conn"] == first]


def _as_v2(frame: bytes) -> bytes:
    assert frame[:2] == b"\x04\x00"
    return b"\x02\x00" + frame[2:]


def _expected_session(enc: str, actor_id: str, connection_id: str) -> list[Any]:
    echo = [1, "a", {"b": [True, None]}]
    return [
        Init(actor_id, connection_id),
        SubscriptionRequest("newCount", True),
        ActionRequest(0, "increment", [2]),
        Event("newCount", [7]),
        ActionResponse(0, 7),
        ActionRequest(1, "fail", []),
        Error("user", "RATE_LIMITED", "nope", None, 1, ActorRef(actor_id, 1, f"cap-{enc}")),
        ActionRequest(2, "echo", echo),
        ActionResponse(2, echo),
    ]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_websocket_session_of_the_official_client(enc: Encoding) -> None:
    frames = _session(enc)
    init = codec.decode_to_client(frames[0][1], enc)
    assert isinstance(init, Init)
    assert len(init.actor_id) == 30 and len(init.connection_id) == 36
    expected = _expected_session(enc, init.actor_id, init.connection_id)
    assert len(frames) == len(expected)
    for (direction, frame), message in zip(frames, expected, strict=True):
        if direction == "C>S":
            assert canon(codec.decode_to_server(frame, enc)) == canon(message)
            ours = codec.encode_to_server(message, enc)
            theirs = _as_v2(frame) if enc == "bare" else frame
            assert_same_on_the_wire(ours, theirs, enc, lambda data: codec.decode_to_server(data, enc))
        else:
            assert canon(codec.decode_to_client(frame, enc)) == canon(message)
            ours = codec.encode_to_client(message, enc)
            assert_same_on_the_wire(ours, frame, enc, lambda data: codec.decode_to_client(data, enc))


def test_json_frames_are_text_and_decode_from_str() -> None:
    assert codec.is_text("json") and not codec.is_text("cbor") and not codec.is_text("bare")
    text = _session("json")[3][1].decode()
    assert codec.decode_to_client(text, "json") == Event("newCount", [7])


# --- frames recorded by rivetctl's own probe (tests/data/captures/record_probe.py) ---------------------


def _probe(ident: str, enc: str, direction: str = "S>C") -> bytes:
    lines = _lines("rivetctl-probe-2.3.19.jsonl")
    return next(_payload(x) for x in lines if (x["id"], x["enc"], x["dir"]) == (ident, enc, direction))


@pytest.mark.parametrize("enc", ENCODINGS)
def test_error_with_metadata_and_actor(enc: Encoding) -> None:
    frame = _probe("ws-throwUserMeta", enc)
    error = codec.decode_to_client(frame, enc)
    assert isinstance(error, Error) and error.actor is not None
    assert (error.group, error.code, error.message) == ("user", "custom_code", "Custom failure message")
    assert error.metadata == {"n": 42, "reason": "because"}
    assert error.action_id == 8
    assert error.actor.key == "probe-capture" and isinstance(error.actor.generation, int)
    assert_same_on_the_wire(codec.encode_to_client(error, enc), frame, enc, lambda d: codec.decode_to_client(d, enc))


@pytest.mark.parametrize("enc", ENCODINGS)
def test_connection_rejected_by_on_before_connect(enc: Encoding) -> None:
    frame = _probe("ws-reject", enc)
    expected = Error("auth", "forbidden", "Forbidden")
    assert codec.decode_to_client(frame, enc) == expected
    assert_same_on_the_wire(codec.encode_to_client(expected, enc), frame, enc, lambda d: codec.decode_to_client(d, enc))


@pytest.mark.parametrize("enc", ENCODINGS)
def test_large_action_ids_round_trip_through_the_server(enc: Encoding) -> None:
    request = ActionRequest(2**63 + 5, "increment", [1])
    sent = _probe("ws-increment", enc, "C>S")
    assert codec.decode_to_server(sent, enc) == request
    assert_same_on_the_wire(codec.encode_to_server(request, enc), sent, enc, lambda d: codec.decode_to_server(d, enc))
    response = codec.decode_to_client(_probe("ws-increment", enc), enc)
    assert isinstance(response, ActionResponse) and response.id == 2**63 + 5


# --- HTTP bodies ---------------------------------------------------------------------------------------


def _http(enc: str, action: str) -> tuple[bytes, int, str | None, bytes]:
    """(request body, status, response content type, response body) of the first call of ``action``."""
    lines = _lines(f"official-client-{enc}.jsonl")
    for index, line in enumerate(lines):
        if line.get("kind") == "http" and line.get("start", "").startswith(f"POST /gateway/counter/action/{action}?"):
            answer = next(x for x in lines[index + 1 :] if x["conn"] == line["conn"] and x["dir"] == "S>C")
            headers = {k.lower(): v for k, v in answer["headers"]}
            status = int(answer["start"].split()[1])
            return _payload(line), status, headers.get("content-type"), _payload(answer)
    raise LookupError(action)


HTTP_INCREMENT = {
    "json": ('{"args":[5]}', '{"output":5}'),
    "cbor": ("b9000164617267738105", "a1666f757470757405"),
    "bare": ("0400028105", "04000105"),
}


@pytest.mark.parametrize("enc", ENCODINGS)
def test_http_action_request_and_response(enc: Encoding) -> None:
    request, status, _, response = _http(enc, "increment")
    want_request, want_response = HTTP_INCREMENT[enc]
    assert request == (want_request.encode() if enc == "json" else bytes.fromhex(want_request))
    assert response == (want_response.encode() if enc == "json" else bytes.fromhex(want_response))
    assert status == 200
    ours = codec.encode_http_request(HttpActionRequest([5]), enc)
    theirs = _as_v2(request) if enc == "bare" else request
    assert_same_on_the_wire(ours, theirs, enc, lambda d: codec.decode_http_action_request(d, enc))
    assert codec.decode_http_action_request(request, enc) == HttpActionRequest([5])
    assert codec.decode_http_action_response(response, enc) == HttpActionResponse(5)
    ours = codec.encode_http_response(HttpActionResponse(5), enc)
    assert_same_on_the_wire(ours, response, enc, lambda d: codec.decode_http_action_response(d, enc))


META = {"n": 42, "reason": "because"}


@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("fail", 500, HttpResponseError("user", "RATE_LIMITED", "nope")),
        ("throwUserMeta", 500, HttpResponseError("user", "custom_code", "Custom failure message", META)),
        ("throwPlain", 500, HttpResponseError("rivetkit", "internal_error", "An internal error occurred")),
        (
            "doesNotExist",
            404,
            HttpResponseError("actor", "action_not_found", "Action `doesNotExist` was not found."),
        ),
    ],
)
def test_http_errors_raised_inside_the_actor(enc: Encoding, action: str, status: int, expected: Any) -> None:
    _, got_status, content_type, body = _http(enc, action)
    assert got_status == status
    error = codec.decode_http_error(body, content_type, enc)
    assert error.actor is not None and error.actor.generation == 1 and error.actor.key == f"cap-{enc}"
    assert error == HttpResponseError(expected.group, expected.code, expected.message, expected.metadata, error.actor)
    ours = codec.encode_http_error(error, enc)
    assert_same_on_the_wire(ours, body, enc, lambda d: codec.decode_http_error(d, content_type, enc))


@pytest.mark.parametrize("enc", ENCODINGS)
def test_gateway_errors_are_json_whatever_the_encoding(enc: Encoding) -> None:
    _, status, content_type, body = _http(enc, "getCount")
    assert (status, content_type) == (404, "application/json")
    error = codec.decode_http_error(body, content_type, enc)
    assert error == HttpResponseError("actor", "not_found", "The actor does not exist or was destroyed.")


def test_error_body_of_reference_section_3_4() -> None:
    body = bytes.fromhex(
        "0400" "04" + b"user".hex() + "0c" + b"RATE_LIMITED".hex() + "04" + b"nope".hex() + "00"
        "01" "1e" + (b"x" * 30).hex() + "01" "01" "08" + b"cap-bare".hex()
    )  # fmt: skip
    expected = HttpResponseError("user", "RATE_LIMITED", "nope", None, ActorRef("x" * 30, 1, "cap-bare"))
    assert codec.decode_http_error(body, "application/octet-stream", "bare") == expected
    assert codec.encode_http_error(expected, "bare") == body
