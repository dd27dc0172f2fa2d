"""Every message through every encoding and back, with values each encoding can carry; codec edge cases."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import given
from test_protocol_strategies import (
    PROPERTY,
    bare_values,
    canon,
    http_errors,
    http_requests,
    http_responses,
    json_values,
    to_client,
    to_server,
)

from rivetctl.errors import ActorRef, ConfigError, ProtocolError
from rivetctl.protocol import encoding as codec
from rivetctl.protocol.encoding import ENCODINGS, Encoding
from rivetctl.protocol.messages import (
    ActionRequest,
    Error,
    HttpActionRequest,
    HttpQueueSendRequest,
    HttpResponseError,
    Init,
    SubscriptionRequest,
)


def _round_trips(msg: Any, enc: Encoding) -> None:
    if isinstance(msg, ActionRequest | SubscriptionRequest):
        data = codec.encode_to_server(msg, enc)
        back: Any = codec.decode_to_server(data, enc)
    elif isinstance(msg, HttpActionRequest):
        data = codec.encode_http_request(msg, enc)
        back = codec.decode_http_action_request(data, enc)
    elif isinstance(msg, HttpQueueSendRequest):
        data = codec.encode_http_request(msg, enc)
        back = codec.decode_http_queue_request(data, enc)
    elif isinstance(msg, HttpResponseError):
        data = codec.encode_http_error(msg, enc)
        back = codec.decode_http_error(data, codec.content_type(enc), enc)
    elif type(msg).__name__.startswith("Http"):
        data = codec.encode_http_response(msg, enc)
        decode = codec.decode_http_action_response if hasattr(msg, "output") else codec.decode_http_queue_response
        back = decode(data, enc)
    else:
        data = codec.encode_to_client(msg, enc)
        back = codec.decode_to_client(data.decode() if codec.is_text(enc) else data, enc)
    assert canon(back) == canon(msg), (enc, data)
    if enc == "cbor":
        cbor2.loads(data)  # well-formed for an independent decoder too


_json_model = to_server(json_values) | to_client(json_values) | http_requests(json_values)
_json_model |= http_responses(json_values) | http_errors(json_values)
_bare_model = to_server(bare_values) | to_client(bare_values) | http_requests(bare_values)
_bare_model |= http_responses(bare_values) | http_errors(bare_values)


@PROPERTY
@given(_json_model)
def test_every_message_round_trips_in_every_encoding(msg: Any) -> None:
    for enc in ENCODINGS:
        _round_trips(msg, enc)


@PROPERTY
@given(_bare_model)
def test_bare_round_trips_every_value(msg: Any) -> None:
    _round_trips(msg, "bare")


# --- versions ------------------------------------------------------------------------------------------


def test_bare_writes_v2_for_client_messages_and_v3_for_queue_sends() -> None:
    assert codec.encode_to_server(SubscriptionRequest("e", True), "bare")[:2] == b"\x02\x00"
    assert codec.encode_http_request(HttpActionRequest([]), "bare")[:2] == b"\x02\x00"
    assert codec.encode_http_request(HttpQueueSendRequest(1), "bare")[:2] == b"\x03\x00"
    assert codec.encode_to_client(Init("a", "c"), "bare")[:2] == b"\x04\x00"


def test_bare_reads_v1_init_with_its_connection_token() -> None:
    frame = b"\x01\x00\x00" + b"\x01a" + b"\x01c" + b"\x05token"
    assert codec.decode_to_client(frame, "bare") == Init("a", "c")


@pytest.mark.parametrize("version", [1, 2, 3])
def test_bare_reads_errors_without_actor_before_v4(version: int) -> None:
    frame = bytes([version, 0, 1]) + b"\x01g\x01c\x01m" + b"\x01\x01\x05" + b"\x01\x07"
    assert codec.decode_to_client(frame, "bare") == Error("g", "c", "m", 5, 7)
    body = bytes([version, 0]) + b"\x01g\x01c\x01m\x00"
    assert codec.decode_http_error(body, None, "bare") == HttpResponseError("g", "c", "m")


@pytest.mark.parametrize("version", [0, 5, 0xFFFF])
def test_bare_rejects_unknown_versions(version: int) -> None:
    with pytest.raises(ProtocolError, match="version"):
        codec.decode_to_client(version.to_bytes(2, "little") + b"\x00\x01a\x01c", "bare")


def test_bare_queue_messages_need_v3() -> None:
    with pytest.raises(ProtocolError, match="version 2"):
        codec.decode_http_queue_response(b"\x02\x00\x09completed\x00", "bare")


# --- lenient reading, strict writing -------------------------------------------------------------------


def test_ids_are_read_plain_bigint_or_integral_float() -> None:
    for id_json in ("3", '["$BigInt","3"]', "3.0"):
        text = '{"body":{"tag":"ActionResponse","val":{"id":' + id_json + ',"output":null}}}'
        assert codec.decode_to_client(text, "json").id == 3  # type: ignore[union-attr]
    cbor = cbor2.dumps({"body": {"tag": "ActionResponse", "val": {"id": 3, "output": None}}})
    assert codec.decode_to_client(cbor, "cbor").id == 3  # type: ignore[union-attr]


def test_http_args_are_read_as_leniently_as_the_server() -> None:
    for body, args in [("{}", []), ('{"args":null}', []), ('{"args":{}}', []), ('{"args":5}', [5])]:
        assert codec.decode_http_action_request(body, "json").args == args
    assert codec.decode_http_action_request(b"\x02\x00\x01\x05", "bare").args == [5]


def test_error_bodies_by_content_type() -> None:
    body = b'{"group":"actor","code":"not_found","message":"gone","metadata":null}'
    expected = HttpResponseError("actor", "not_found", "gone")
    assert codec.decode_http_error(body, "application/json; charset=utf-8", "bare") == expected
    assert codec.decode_http_error(body, "text/plain", "cbor") == expected  # older servers mislabel JSON
    with pytest.raises(ProtocolError):
        codec.decode_http_error(b'{"output":1}', "application/json", "json")
    with pytest.raises(ProtocolError):
        codec.decode_http_error(b"<html>", "text/html", "bare")


def test_actor_generation_and_key_are_optional_in_json() -> None:
    body = '{"group":"g","code":"c","message":"m","actor":{"actorId":"a"}}'
    assert codec.decode_http_error(body, None, "json").actor == ActorRef("a", None, None)


@pytest.mark.parametrize(
    ("msg", "problem"),
    [
        (ActionRequest(-1, "a", []), "message id"),
        (ActionRequest(2**64, "a", []), "message id"),
        (ActionRequest(0, "a", [{1: "x"}]), "non-string keys"),
        (HttpQueueSendRequest(1, timeout=-5), "timeout"),
    ],
)
def test_encoders_refuse_bad_caller_input_with_config_error(msg: Any, problem: str) -> None:
    for enc in ("json", "cbor"):
        with pytest.raises(ConfigError, match=problem):
            if isinstance(msg, ActionRequest):
                codec.encode_to_server(msg, enc)
            else:
                codec.encode_http_request(msg, enc)


def test_bare_encoder_refuses_ids_beyond_u64() -> None:
    with pytest.raises(ConfigError):
        codec.encode_to_server(ActionRequest(2**64, "a", []), "bare")


def test_parse_encoding() -> None:
    assert codec.parse_encoding(" CBOR ") == "cbor"
    with pytest.raises(ConfigError, match="json, cbor, bare"):
        codec.parse_encoding("msgpack")
    assert codec.content_type("json") == "application/json"
    assert codec.content_type("bare") == "application/octet-stream"
    with pytest.raises(ConfigError):
        codec.encode_to_server(SubscriptionRequest("e", True), "xml")  # type: ignore[arg-type]
