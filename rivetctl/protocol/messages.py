"""The RivetKit client-protocol messages as small immutable records, named after the v4 BARE schema.

Values inside (``args``, ``output``, ``metadata``, ``body``) are already-decoded Python values in the model of
:mod:`rivetctl.protocol.values`; ids are plain ``int``. Codecs live in :mod:`rivetctl.protocol.encoding`.

They are :class:`~typing.NamedTuple` classes (immutable, compared by value, usable in ``match``) rather than
frozen dataclasses, which take five times longer to define: a one-shot ``rivetctl call`` defines them all.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeAlias

from rivetctl.errors import ActorRef

__all__ = [
    "ActionRequest",
    "ActionResponse",
    "ActorRef",
    "Error",
    "Event",
    "HttpActionRequest",
    "HttpActionResponse",
    "HttpQueueSendRequest",
    "HttpQueueSendResponse",
    "HttpResponseError",
    "Init",
    "SubscriptionRequest",
    "ToClient",
    "ToServer",
]


# --- WebSocket, server → client ---------------------------------------------------------------


class Init(NamedTuple):
    """First message of a connection: the actor and this connection's id."""

    actor_id: str
    connection_id: str


class Error(NamedTuple):
    """An error: of the action ``action_id``, or of the whole connection when ``action_id`` is ``None``.

    A connection-level error is followed by a close frame ``1011 group.code``.
    """

    group: str
    code: str
    message: str
    metadata: Any = None
    action_id: int | None = None
    actor: ActorRef | None = None


class ActionResponse(NamedTuple):
    """The output of the action request ``id``; responses may arrive in any order."""

    id: int
    output: Any


class Event(NamedTuple):
    """A broadcast (or targeted ``conn.send``) event with its arguments."""

    name: str
    args: list[Any]


ToClient: TypeAlias = Init | Error | ActionResponse | Event


# --- WebSocket, client → server ---------------------------------------------------------------


class ActionRequest(NamedTuple):
    """Run action ``name`` with ``args``; ``id`` (chosen by the client, < 2**64) matches the response."""

    id: int
    name: str
    args: list[Any]


class SubscriptionRequest(NamedTuple):
    """Start (``subscribe=True``) or stop receiving broadcasts of ``event_name``."""

    event_name: str
    subscribe: bool


ToServer: TypeAlias = ActionRequest | SubscriptionRequest


# --- HTTP --------------------------------------------------------------------------------------


class HttpActionRequest(NamedTuple):
    """Body of ``POST …/action/{name}``."""

    args: list[Any]


class HttpActionResponse(NamedTuple):
    """Body of a ``200`` answer to an action."""

    output: Any


class HttpResponseError(NamedTuple):
    """Body of a non-``200`` answer: a RivetKit error (``actor`` set when it happened inside an actor)."""

    group: str
    code: str
    message: str
    metadata: Any = None
    actor: ActorRef | None = None


class HttpQueueSendRequest(NamedTuple):
    """Body of ``POST …/queue/{name}``: a message for the actor's queue.

    ``wait`` asks the server to answer only once the message was handled (or ``timeout`` ms passed).
    """

    body: Any
    name: str | None = None
    wait: bool | None = None
    timeout: int | None = None


class HttpQueueSendResponse(NamedTuple):
    """Answer to a queue send: ``status`` is ``"completed"`` or ``"timedOut"``; ``response`` when waited."""

    status: str
    response: Any = None
