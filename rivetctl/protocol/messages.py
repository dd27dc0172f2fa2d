"""The RivetKit client-protocol messages as small immutable types, named after the v4 BARE schema.

Values inside (``args``, ``output``, ``metadata``, ``body``) are already-decoded Python values in the model of
:mod:`rivetctl.protocol.values`; ids are plain ``int``. Codecs live in :mod:`rivetctl.protocol.encoding`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

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


@dataclass(frozen=True, slots=True)
class Init:
    """First message of a connection: the actor and this connection's id."""

    actor_id: str
    connection_id: str


@dataclass(frozen=True, slots=True)
class Error:
    """An error: of the action ``action_id``, or of the whole connection when ``action_id`` is ``None``.

    A connection-level error is followed by a close frame ``1011 group.code``.
    """

    group: str
    code: str
    message: str
    metadata: Any = None
    action_id: int | None = None
    actor: ActorRef | None = None


@dataclass(frozen=True, slots=True)
class ActionResponse:
    """The output of the action request ``id``; responses may arrive in any order."""

    id: int
    output: Any


@dataclass(frozen=True, slots=True)
class Event:
    """A broadcast (or targeted ``conn.send``) event with its arguments."""

    name: str
    args: list[Any] = field(default_factory=list)


ToClient: TypeAlias = Init | Error | ActionResponse | Event


# --- WebSocket, client → server ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """Run action ``name`` with ``args``; ``id`` (chosen by the client, < 2**64) matches the response."""

    id: int
    name: str
    args: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    """Start (``subscribe=True``) or stop receiving broadcasts of ``event_name``."""

    event_name: str
    subscribe: bool


ToServer: TypeAlias = ActionRequest | SubscriptionRequest


# --- HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpActionRequest:
    """Body of ``POST …/action/{name}``."""

    args: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HttpActionResponse:
    """Body of a ``200`` answer to an action."""

    output: Any


@dataclass(frozen=True, slots=True)
class HttpResponseError:
    """Body of a non-``200`` answer: a RivetKit error (``actor`` set when it happened inside an actor)."""

    group: str
    code: str
    message: str
    metadata: Any = None
    actor: ActorRef | None = None


@dataclass(frozen=True, slots=True)
class HttpQueueSendRequest:
    """Body of ``POST …/queue/{name}``: a message for the actor's queue.

    ``wait`` asks the server to answer only once the message was handled (or ``timeout`` ms passed).
    """

    body: Any
    name: str | None = None
    wait: bool | None = None
    timeout: int | None = None


@dataclass(frozen=True, slots=True)
class HttpQueueSendResponse:
    """Answer to a queue send: ``status`` is ``"completed"`` or ``"timedOut"``; ``response`` when waited."""

    status: str
    response: Any = None
