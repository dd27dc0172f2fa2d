"""BARE layouts of the client-protocol messages, versions 1–4, each behind a vbare ``u16`` version prefix.

What each version changed (protocol reference §9.3): v2 dropped ``Init.connectionToken``; v3 added the
``HttpQueueSend*`` types; v4 appended ``actor: optional<ActorSpecifier>`` to ``Error`` and
``HttpResponseError``. We write **v2** for client→server messages (identical in v2–v4 and understood by every
2.x server), **v3** for queue sends (the first version that has them) and **v4** for the server-side twins;
we read 1–4. Values travel as CBOR inside ``data`` fields (:func:`~rivetctl.protocol.values.dumps_cbor`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rivetctl.errors import ActorRef, ConfigError, ProtocolError
from rivetctl.protocol.bare import BareReader, BareWriter
from rivetctl.protocol.messages import (
    ActionRequest,
    ActionResponse,
    Error,
    Event,
    HttpActionRequest,
    HttpActionResponse,
    HttpQueueSendRequest,
    HttpQueueSendResponse,
    HttpResponseError,
    Init,
    SubscriptionRequest,
    ToClient,
    ToServer,
)
from rivetctl.protocol.values import dumps_cbor, dumps_cbor_canonical, loads_cbor

CLIENT_VERSION = 2
QUEUE_VERSION = 3
SERVER_VERSION = 4
MAX_VERSION = 4

T = TypeVar("T")


def _writer(version: int) -> BareWriter:
    writer = BareWriter()
    writer.u16(version)
    return writer


def _read(data: bytes | str, fn: Callable[[BareReader, int], T], *, min_version: int = 1) -> T:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ProtocolError("BARE: expected binary data, got text")
    reader = BareReader(bytes(data))
    version = reader.u16()
    if not min_version <= version <= MAX_VERSION:
        raise ProtocolError(f"BARE: unsupported protocol version {version} (expected {min_version}–{MAX_VERSION})")
    result = fn(reader, version)
    reader.done()
    return result


def _args(data: bytes) -> list[Any]:
    # Like the server: a non-array CBOR value is one argument.
    value = loads_cbor(data)
    return value if isinstance(value, list) else [value]


def _write_actor(writer: BareWriter, actor: ActorRef) -> None:
    writer.str(actor.actor_id)
    writer.uint(actor.generation or 0)
    writer.optional(actor.key, writer.str)


def _read_actor(reader: BareReader) -> ActorRef:
    return ActorRef(reader.str(), reader.uint(), reader.optional(reader.str))


def _write_error_fields(writer: BareWriter, msg: Error | HttpResponseError) -> None:
    writer.str(msg.group)
    writer.str(msg.code)
    writer.str(msg.message)
    # Metadata reaches the wire through the server's JSON layer, hence canonical CBOR.
    writer.optional(None if msg.metadata is None else dumps_cbor_canonical(msg.metadata), writer.data)


def _read_metadata(reader: BareReader) -> Any:
    raw = reader.optional(reader.data)
    return None if raw is None else loads_cbor(raw)


# --- WebSocket -----------------------------------------------------------------------------------


def write_to_server(msg: ToServer) -> bytes:
    """``ToServer`` at version 2."""
    writer = _writer(CLIENT_VERSION)
    if isinstance(msg, ActionRequest):
        writer.u8(0)
        writer.uint(msg.id)
        writer.str(msg.name)
        writer.data(dumps_cbor(list(msg.args)))
    elif isinstance(msg, SubscriptionRequest):
        writer.u8(1)
        writer.str(msg.event_name)
        writer.bool(msg.subscribe)
    else:
        raise ConfigError(f"not a client→server message: {type(msg).__name__}")
    return writer.getvalue()


def read_to_server(data: bytes | str) -> ToServer:
    """``ToServer`` at versions 1–4."""

    def body(reader: BareReader, _version: int) -> ToServer:
        tag = reader.u8()
        if tag == 0:
            return ActionRequest(reader.uint(), reader.str(), _args(reader.data()))
        if tag == 1:
            return SubscriptionRequest(reader.str(), reader.bool())
        raise ProtocolError(f"BARE: unknown ToServer union tag {tag}")

    return _read(data, body)


def write_to_client(msg: ToClient) -> bytes:
    """``ToClient`` at version 4 (what the server sends)."""
    writer = _writer(SERVER_VERSION)
    if isinstance(msg, Init):
        writer.u8(0)
        writer.str(msg.actor_id)
        writer.str(msg.connection_id)
    elif isinstance(msg, Error):
        writer.u8(1)
        _write_error_fields(writer, msg)
        writer.optional(msg.action_id, writer.uint)
        writer.optional(msg.actor, lambda actor: _write_actor(writer, actor))
    elif isinstance(msg, ActionResponse):
        writer.u8(2)
        writer.uint(msg.id)
        writer.data(dumps_cbor(msg.output))
    elif isinstance(msg, Event):
        writer.u8(3)
        writer.str(msg.name)
        writer.data(dumps_cbor(list(msg.args)))
    else:
        raise ConfigError(f"not a server→client message: {type(msg).__name__}")
    return writer.getvalue()


def read_to_client(data: bytes | str) -> ToClient:
    """``ToClient`` at versions 1–4."""
    return _read(data, _to_client)


def _to_client(reader: BareReader, version: int) -> ToClient:
    tag = reader.u8()
    if tag == 0:
        init = Init(reader.str(), reader.str())
        if version == 1:
            reader.str()  # connectionToken, dropped in v2
        return init
    if tag == 1:
        group, code, message = reader.str(), reader.str(), reader.str()
        metadata = _read_metadata(reader)
        action_id = reader.optional(reader.uint)
        actor = reader.optional(lambda: _read_actor(reader)) if version >= 4 else None
        return Error(group, code, message, metadata, action_id, actor)
    if tag == 2:
        return ActionResponse(reader.uint(), loads_cbor(reader.data()))
    if tag == 3:
        name = reader.str()
        args = loads_cbor(reader.data())
        if not isinstance(args, list):
            raise ProtocolError("BARE: Event args is not an array")
        return Event(name, args)
    raise ProtocolError(f"BARE: unknown ToClient union tag {tag}")


# --- HTTP ----------------------------------------------------------------------------------------


def write_http_request(msg: HttpActionRequest | HttpQueueSendRequest) -> bytes:
    """``HttpActionRequest`` at version 2 or ``HttpQueueSendRequest`` at version 3."""
    if isinstance(msg, HttpActionRequest):
        writer = _writer(CLIENT_VERSION)
        writer.data(dumps_cbor(list(msg.args)))
    elif isinstance(msg, HttpQueueSendRequest):
        writer = _writer(QUEUE_VERSION)
        writer.data(dumps_cbor(msg.body))
        writer.optional(msg.name, writer.str)
        writer.optional(msg.wait, writer.bool)
        writer.optional(msg.timeout, writer.u64)
    else:
        raise ConfigError(f"not an HTTP request body: {type(msg).__name__}")
    return writer.getvalue()


def read_http_action_request(data: bytes | str) -> HttpActionRequest:
    """``HttpActionRequest`` at versions 1–4."""
    return _read(data, lambda reader, _v: HttpActionRequest(_args(reader.data())))


def read_http_queue_request(data: bytes | str) -> HttpQueueSendRequest:
    """``HttpQueueSendRequest`` at versions 3–4."""

    def body(reader: BareReader, _version: int) -> HttpQueueSendRequest:
        value = loads_cbor(reader.data())
        return HttpQueueSendRequest(
            value, reader.optional(reader.str), reader.optional(reader.bool), reader.optional(reader.u64)
        )

    return _read(data, body, min_version=QUEUE_VERSION)


def write_http_response(msg: HttpActionResponse | HttpQueueSendResponse) -> bytes:
    """``HttpActionResponse`` or ``HttpQueueSendResponse`` at version 4."""
    writer = _writer(SERVER_VERSION)
    if isinstance(msg, HttpActionResponse):
        writer.data(dumps_cbor(msg.output))
    elif isinstance(msg, HttpQueueSendResponse):
        writer.str(msg.status)
        writer.optional(None if msg.response is None else dumps_cbor(msg.response), writer.data)
    else:
        raise ConfigError(f"not an HTTP response body: {type(msg).__name__}")
    return writer.getvalue()


def read_http_action_response(data: bytes | str) -> HttpActionResponse:
    """``HttpActionResponse`` at versions 1–4."""
    return _read(data, lambda reader, _v: HttpActionResponse(loads_cbor(reader.data())))


def read_http_queue_response(data: bytes | str) -> HttpQueueSendResponse:
    """``HttpQueueSendResponse`` at versions 3–4."""

    def body(reader: BareReader, _version: int) -> HttpQueueSendResponse:
        return HttpQueueSendResponse(reader.str(), _read_metadata(reader))

    return _read(data, body, min_version=QUEUE_VERSION)


def write_http_error(msg: HttpResponseError) -> bytes:
    """``HttpResponseError`` at version 4."""
    writer = _writer(SERVER_VERSION)
    _write_error_fields(writer, msg)
    writer.optional(msg.actor, lambda actor: _write_actor(writer, actor))
    return writer.getvalue()


def read_http_error(data: bytes | str) -> HttpResponseError:
    """``HttpResponseError`` at versions 1–4 (``actor`` only from v4)."""

    def body(reader: BareReader, version: int) -> HttpResponseError:
        group, code, message = reader.str(), reader.str(), reader.str()
        metadata = _read_metadata(reader)
        actor = reader.optional(lambda: _read_actor(reader)) if version >= 4 else None
        return HttpResponseError(group, code, message, metadata, actor)

    return _read(data, body)
