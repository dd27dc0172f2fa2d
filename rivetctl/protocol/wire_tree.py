"""Messages as the trees of the ``json`` and ``cbor`` encodings (``{"body":{"tag":…,"val":{…}}}``) and back.

Both encodings share one tree shape; they differ in ids (JSON ``["$BigInt","n"]``, CBOR 8-byte uints), in
layout (the server writes JSON with sorted keys) and in what a WebSocket CBOR frame from the server holds for
values (the actor's own CBOR, tags included, where JSON has only the JSON model).
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from rivetctl.errors import ActorRef, ConfigError, ProtocolError
from rivetctl.protocol import cbor
from rivetctl.protocol.cbor import U64
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
from rivetctl.protocol.revive import revive_json
from rivetctl.protocol.values import loads_cbor, sort_keys, to_cbor_compat, to_json_compat

TreeEncoding = Literal["json", "cbor", "bare"]
Side = Literal["client", "server"]
_U64_MAX = (1 << 64) - 1


_JSON_WRITERS: Final = {
    side: json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=side == "server")
    for side in ("client", "server")
}


def dump(tree: Any, enc: TreeEncoding, side: Side) -> bytes:
    """Serialize a tree: JSON compact (sorted keys on the server side) or CBOR."""
    if enc == "json":
        text = _JSON_WRITERS[side].encode(tree)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ConfigError(f"string is not encodable as UTF-8: {exc.reason}") from None
    return cbor.encode(tree)


def load(data: bytes | str, enc: TreeEncoding) -> Any:
    """Parse JSON text or CBOR bytes and revive the ``$``-tagged values in it."""
    if enc == "json":
        if isinstance(data, bytes | bytearray | memoryview):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError("JSON message is not valid UTF-8") from None
        if not isinstance(data, str):
            raise ProtocolError("expected JSON text")
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"not valid JSON: {str(exc)[:80]}") from None
        return revive_json(parsed)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ProtocolError("CBOR: expected binary data, got text")
    return loads_cbor(bytes(data))


# --- building trees ------------------------------------------------------------------------------


def _wire_uint(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U64_MAX:
        raise ConfigError(f"{what} must be an integer in [0, 2**64), got {value!r:.40}")
    return int(value)


def _id(value: int, enc: TreeEncoding) -> Any:
    value = _wire_uint(value, "message id")
    return ["$BigInt", str(value)] if enc == "json" else U64(value)


def _actor_tree(actor: ActorRef, generation: Any) -> dict[str, Any]:
    tree: dict[str, Any] = {"actorId": actor.actor_id, "generation": generation}
    if actor.key is not None:
        tree["key"] = actor.key
    return tree


def to_server_tree(msg: ToServer, enc: TreeEncoding) -> dict[str, Any]:
    """``ActionRequest`` / ``SubscriptionRequest`` in the official client's field order."""
    if isinstance(msg, ActionRequest):
        val = {"id": _id(msg.id, enc), "name": msg.name, "args": to_json_compat(msg.args)}
        return {"body": {"tag": "ActionRequest", "val": val}}
    if isinstance(msg, SubscriptionRequest):
        val = {"eventName": msg.event_name, "subscribe": bool(msg.subscribe)}
        return {"body": {"tag": "SubscriptionRequest", "val": val}}
    raise ConfigError(f"not a client→server message: {type(msg).__name__}")


def to_client_tree(msg: ToClient, enc: TreeEncoding) -> dict[str, Any]:
    """A server→client message as the server lays it out (WS CBOR carries the actor's values, tags included)."""
    as_json = enc == "json"

    def value(v: Any) -> Any:
        return to_json_compat(v) if as_json else to_cbor_compat(v)

    if isinstance(msg, Init):
        return {"body": {"tag": "Init", "val": {"actorId": msg.actor_id, "connectionId": msg.connection_id}}}
    if isinstance(msg, Error):
        val: dict[str, Any] = {"group": msg.group, "code": msg.code, "message": msg.message}
        if msg.metadata is not None:
            val["metadata"] = value(msg.metadata)
        if msg.actor is not None:
            generation = msg.actor.generation or 0
            val["actor"] = _actor_tree(msg.actor, generation if as_json else U64(generation))
        val["actionId"] = None if msg.action_id is None else _id(msg.action_id, enc)
        return {"body": {"tag": "Error", "val": val}}
    if isinstance(msg, ActionResponse):
        return {"body": {"tag": "ActionResponse", "val": {"id": _id(msg.id, enc), "output": value(msg.output)}}}
    if isinstance(msg, Event):
        return {"body": {"tag": "Event", "val": {"name": msg.name, "args": value(list(msg.args))}}}
    raise ConfigError(f"not a server→client message: {type(msg).__name__}")


def http_request_tree(msg: HttpActionRequest | HttpQueueSendRequest) -> dict[str, Any]:
    """``{"args":[…]}`` or ``{"body":…[,"wait"][,"timeout"][,"name"]}`` (the official client's order)."""
    if isinstance(msg, HttpActionRequest):
        return {"args": to_json_compat(msg.args)}
    if isinstance(msg, HttpQueueSendRequest):
        tree: dict[str, Any] = {"body": to_json_compat(msg.body)}
        if msg.wait is not None:
            tree["wait"] = bool(msg.wait)
        if msg.timeout is not None:
            tree["timeout"] = _wire_uint(msg.timeout, "queue timeout")
        if msg.name is not None:
            tree["name"] = msg.name
        return tree
    raise ConfigError(f"not an HTTP request body: {type(msg).__name__}")


def http_response_tree(msg: HttpActionResponse | HttpQueueSendResponse) -> Any:
    """A ``200`` body as the server writes it (through its JSON layer: sorted keys)."""
    if isinstance(msg, HttpActionResponse):
        return sort_keys({"output": to_json_compat(msg.output)})
    if isinstance(msg, HttpQueueSendResponse):
        tree: dict[str, Any] = {"status": msg.status}
        if msg.response is not None:
            tree["response"] = to_json_compat(msg.response)
        return sort_keys(tree)
    raise ConfigError(f"not an HTTP response body: {type(msg).__name__}")


def http_error_tree(msg: HttpResponseError) -> Any:
    """An actor's error body (sorted keys; ``generation`` a plain number)."""
    tree: dict[str, Any] = {"group": msg.group, "code": msg.code, "message": msg.message}
    if msg.metadata is not None:
        tree["metadata"] = to_json_compat(msg.metadata)
    if msg.actor is not None:
        tree["actor"] = _actor_tree(msg.actor, msg.actor.generation or 0)
    return sort_keys(tree)


# --- reading trees -------------------------------------------------------------------------------


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"field {key!r}: expected a string, got {type(value).__name__}")
    return value


def _uint(value: Any, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U64_MAX:
        raise ProtocolError(f"{what}: expected an unsigned integer, got {value!r:.40}")
    return value


def _opt_uint(value: Any, what: str) -> int | None:
    return None if value is None else _uint(value, what)


def _actor(value: Any) -> ActorRef | None:
    if value is None:
        return None
    obj = _obj(value, "actor")
    key = obj.get("key")
    if key is not None and not isinstance(key, str):
        raise ProtocolError("actor.key: expected a string")
    return ActorRef(_str(obj, "actorId"), _opt_uint(obj.get("generation"), "actor.generation"), key)


def _body(tree: Any) -> tuple[str, dict[str, Any]]:
    body = _obj(_obj(tree, "message").get("body"), "body")
    tag = body.get("tag")
    if not isinstance(tag, str):
        raise ProtocolError("body.tag: expected a string")
    return tag, _obj(body.get("val"), f"{tag} val")


def _lenient_args(value: Any) -> list[Any]:
    # The server's rule for HTTP (and WS) args: missing/null ⇒ [], {} ⇒ [], a non-array v ⇒ [v].
    if value is None or value == {}:
        return []
    return value if isinstance(value, list) else [value]


def to_server_from(tree: Any) -> ToServer:
    """The client→server message in a revived tree."""
    tag, val = _body(tree)
    if tag == "ActionRequest":
        return ActionRequest(_uint(val.get("id"), "id"), _str(val, "name"), _lenient_args(val.get("args")))
    if tag == "SubscriptionRequest":
        subscribe = val.get("subscribe")
        if not isinstance(subscribe, bool):
            raise ProtocolError("field 'subscribe': expected a boolean")
        return SubscriptionRequest(_str(val, "eventName"), subscribe)
    raise ProtocolError(f"unknown client→server message tag {tag!r:.40}")


def to_client_from(tree: Any) -> ToClient:
    """The server→client message in a revived tree."""
    tag, val = _body(tree)
    if tag == "Init":
        return Init(_str(val, "actorId"), _str(val, "connectionId"))
    if tag == "Error":
        action_id = _opt_uint(val.get("actionId"), "actionId")
        actor = _actor(val.get("actor"))
        return Error(_str(val, "group"), _str(val, "code"), _str(val, "message"), val.get("metadata"), action_id, actor)
    if tag == "ActionResponse":
        if "output" not in val:
            raise ProtocolError("ActionResponse without 'output'")
        return ActionResponse(_uint(val.get("id"), "id"), val["output"])
    if tag == "Event":
        args = val.get("args")
        if not isinstance(args, list):
            raise ProtocolError("field 'args': expected an array")
        return Event(_str(val, "name"), args)
    raise ProtocolError(f"unknown server→client message tag {tag!r:.40}")


def http_action_request_from(tree: Any) -> HttpActionRequest:
    """An action request body."""
    return HttpActionRequest(_lenient_args(_obj(tree, "action request").get("args")))


def http_queue_request_from(tree: Any) -> HttpQueueSendRequest:
    """A queue send request body."""
    obj = _obj(tree, "queue request")
    name, wait = obj.get("name"), obj.get("wait")
    if name is not None and not isinstance(name, str):
        raise ProtocolError("field 'name': expected a string")
    if wait is not None and not isinstance(wait, bool):
        raise ProtocolError("field 'wait': expected a boolean")
    return HttpQueueSendRequest(obj.get("body"), name, wait, _opt_uint(obj.get("timeout"), "timeout"))


def http_action_response_from(tree: Any) -> HttpActionResponse:
    """An action's ``200`` body."""
    obj = _obj(tree, "action response")
    if "output" not in obj:
        raise ProtocolError("action response without 'output'")
    return HttpActionResponse(obj["output"])


def http_queue_response_from(tree: Any) -> HttpQueueSendResponse:
    """A queue send's ``200`` body."""
    obj = _obj(tree, "queue response")
    return HttpQueueSendResponse(_str(obj, "status"), obj.get("response"))


def http_error_from(tree: Any) -> HttpResponseError:
    """An error body; ``ProtocolError`` unless it has string ``group``, ``code`` and ``message``."""
    obj = _obj(tree, "error body")
    fields = (_str(obj, "group"), _str(obj, "code"), _str(obj, "message"))
    return HttpResponseError(*fields, obj.get("metadata"), _actor(obj.get("actor")))
