"""Pure codecs for every client-protocol message in the ``json``, ``cbor`` and ``bare`` encodings.

Client→server messages are written like the official client, except that ids in JSON are always
``["$BigInt","n"]`` and in CBOR always 8-byte uints (every 2.x server accepts both, reference §14) and that
CBOR bodies carry ``$``-tagged values (the server converts them to JSON, where only the JSON model survives).
The ``encode_to_client`` / ``encode_http_response`` / ``encode_http_error`` twins write what the server
writes, for tests and fake peers. Every decoder raises only :class:`~rivetctl.errors.ProtocolError`.
"""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from rivetctl.errors import ConfigError, ProtocolError
from rivetctl.protocol import bare_messages as bare
from rivetctl.protocol import wire_tree as tree
from rivetctl.protocol.messages import (
    HttpActionRequest,
    HttpActionResponse,
    HttpQueueSendRequest,
    HttpQueueSendResponse,
    HttpResponseError,
    ToClient,
    ToServer,
)

Encoding = Literal["json", "cbor", "bare"]
ENCODINGS: Final[tuple[Encoding, ...]] = get_args(Encoding)


def parse_encoding(text: str) -> Encoding:
    """``"json"``, ``"cbor"`` or ``"bare"`` (case-insensitive), else ``ConfigError`` naming the valid ones."""
    name = text.strip().lower()
    if name not in ENCODINGS:
        raise ConfigError(f"unknown encoding {text!r}; valid encodings: {', '.join(ENCODINGS)}")
    return name


def content_type(enc: Encoding) -> str:
    """The request ``Content-Type`` the official client sends for ``enc``."""
    return "application/json" if enc == "json" else "application/octet-stream"


def is_text(enc: Encoding) -> bool:
    """Whether WebSocket frames of ``enc`` are text frames (JSON) rather than binary."""
    return enc == "json"


def _check(enc: str) -> None:
    if enc not in ENCODINGS:
        raise ConfigError(f"unknown encoding {enc!r}; valid encodings: {', '.join(ENCODINGS)}")


# --- WebSocket -----------------------------------------------------------------------------------


def encode_to_server(msg: ToServer, enc: Encoding) -> bytes:
    """Serialize a client→server WebSocket message (JSON as UTF-8 bytes: send it as a text frame)."""
    _check(enc)
    if enc == "bare":
        return bare.write_to_server(msg)
    return tree.dump(tree.to_server_tree(msg, enc), enc, "client")


def decode_to_server(data: bytes | str, enc: Encoding) -> ToServer:
    """Parse a client→server WebSocket message (what a server, or a fake one in tests, receives)."""
    _check(enc)
    if enc == "bare":
        return bare.read_to_server(data)
    return tree.to_server_from(tree.load(data, enc))


def encode_to_client(msg: ToClient, enc: Encoding) -> bytes:
    """Serialize a server→client WebSocket message the way the 2.3 server does (BARE v4)."""
    _check(enc)
    if enc == "bare":
        return bare.write_to_client(msg)
    return tree.dump(tree.to_client_tree(msg, enc), enc, "server")


def decode_to_client(data: bytes | str, enc: Encoding) -> ToClient:
    """Parse a server→client WebSocket message (BARE versions 1–4)."""
    _check(enc)
    if enc == "bare":
        return bare.read_to_client(data)
    return tree.to_client_from(tree.load(data, enc))


# --- HTTP ----------------------------------------------------------------------------------------


def encode_http_request(msg: HttpActionRequest | HttpQueueSendRequest, enc: Encoding) -> bytes:
    """The body of an action (``POST …/action/{name}``) or queue send (``POST …/queue/{name}``)."""
    _check(enc)
    if enc == "bare":
        return bare.write_http_request(msg)
    return tree.dump(tree.http_request_tree(msg), enc, "client")


def decode_http_action_request(body: bytes | str, enc: Encoding) -> HttpActionRequest:
    """Parse an action request body, as leniently as the server (missing/``null`` args ⇒ ``[]``)."""
    _check(enc)
    if enc == "bare":
        return bare.read_http_action_request(body)
    return tree.http_action_request_from(tree.load(body, enc))


def decode_http_queue_request(body: bytes | str, enc: Encoding) -> HttpQueueSendRequest:
    """Parse a queue send request body."""
    _check(enc)
    if enc == "bare":
        return bare.read_http_queue_request(body)
    return tree.http_queue_request_from(tree.load(body, enc))


def encode_http_response(msg: HttpActionResponse | HttpQueueSendResponse, enc: Encoding) -> bytes:
    """The ``200`` body the server sends for an action or a queue send."""
    _check(enc)
    if enc == "bare":
        return bare.write_http_response(msg)
    return tree.dump(tree.http_response_tree(msg), enc, "server")


def decode_http_action_response(body: bytes | str, enc: Encoding) -> HttpActionResponse:
    """Parse the ``200`` body of an action."""
    _check(enc)
    if enc == "bare":
        return bare.read_http_action_response(body)
    return tree.http_action_response_from(tree.load(body, enc))


def decode_http_queue_response(body: bytes | str, enc: Encoding) -> HttpQueueSendResponse:
    """Parse the ``200`` body of a queue send."""
    _check(enc)
    if enc == "bare":
        return bare.read_http_queue_response(body)
    return tree.http_queue_response_from(tree.load(body, enc))


def encode_http_error(msg: HttpResponseError, enc: Encoding) -> bytes:
    """An error body as an actor answers it (gateway errors are always JSON: use ``"json"`` for those)."""
    _check(enc)
    if enc == "bare":
        return bare.write_http_error(msg)
    return tree.dump(tree.http_error_tree(msg), enc, "server")


def decode_http_error(body: bytes | str, content_type: str | None, enc: Encoding) -> HttpResponseError:
    """Parse an error body by its ``Content-Type``: JSON when it says ``application/json``, else ``enc``.

    Older servers label JSON errors ``text/plain``, so a body that fails as ``enc`` but looks like a JSON
    object is tried as JSON too.

    Raises:
        ProtocolError: the body is not a RivetKit error (no ``group``/``code``/``message``).
    """
    _check(enc)
    if content_type is not None and "application/json" in content_type.lower():
        enc = "json"
    try:
        return _decode_error(body, enc)
    except ProtocolError:
        if enc == "json" or not _looks_like_json(body):
            raise
        return _decode_error(body, "json")


def _decode_error(body: bytes | str, enc: Encoding) -> HttpResponseError:
    if enc == "bare":
        return bare.read_http_error(body)
    return tree.http_error_from(tree.load(body, enc))


def _looks_like_json(body: Any) -> bool:
    if isinstance(body, str):
        return body.lstrip().startswith("{")
    return isinstance(body, bytes | bytearray | memoryview) and bytes(body).lstrip().startswith(b"{")
