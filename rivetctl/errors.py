"""The one exception tree of rivetctl; every error the library raises is a ``RivetctlError``.

::

    RivetctlError
    ├── ConfigError              bad endpoint, encoding, option or argument (caller's mistake)
    │   └── UnsupportedError     asked for something the server version does not offer (SSE on 2.3)
    ├── PayloadTooLargeError     refused before sending: over the server's message or URL limit
    ├── ProtocolError            the peer sent something that is not the RivetKit protocol
    ├── NetworkError             could not reach the server, or the connection broke
    │   ├── RequestTimeoutError  no answer within the timeout
    │   └── ConnectionLostError  a live connection dropped while an action was in flight
    ├── ConnectionDisposedError  the connection was disposed; nothing more can be sent on it
    ├── ListenerError            a listener callback raised: reported to ``on_error``, never raised to callers
    ├── UnknownActorNameError    the registry has no actor of that name (lists the ones it has)
    └── ActorError               the server answered with a RivetKit error (group, code, message, …)
        ├── ActorNotFoundError      ``actor.not_found``
        ├── ActorExistsError        ``actor.duplicate_key``
        ├── AuthError               ``auth.*``, ``inspector.unauthorized``, HTTP 401/403
        └── ActionTimeoutError      ``actor.action_timed_out``

Secrets never reach an error message: messages are built from server answers and redacted URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol


class RivetctlError(Exception):
    """Base class of every error rivetctl raises."""


class ConfigError(RivetctlError):
    """The caller gave an invalid endpoint, encoding, option, key or argument."""


class UnsupportedError(ConfigError):
    """The feature asked for does not exist on this server version."""


class PayloadTooLargeError(RivetctlError):
    """A request was refused before sending because it exceeds a known server or URL limit."""

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class ConflictError(RivetctlError):
    """A change was not written because what it was based on changed meanwhile (e.g. ``state --edit``)."""


class ProtocolError(RivetctlError):
    """The peer sent bytes that do not decode as the RivetKit protocol."""


class NetworkError(RivetctlError):
    """The server could not be reached, or the transport failed.

    ``permanent``: trying again cannot help (the server's certificate is not trusted, a proxy refused the
    tunnel with a 4xx); a live connection stops reconnecting on it.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class RequestTimeoutError(NetworkError):
    """No answer arrived within the configured timeout."""


class ConnectionLostError(NetworkError):
    """A live connection dropped while an action was in flight; the action may or may not have run."""

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.close_code = code
        self.close_reason = reason


class ConnectionDisposedError(RivetctlError):
    """The connection was disposed by the caller."""


class ListenerError(RivetctlError):
    """An event, status, open or close callback raised; reported to ``on_error``, never fatal.

    The callback's exception is ``__cause__``; ``callback`` is the function that raised.
    """

    def __init__(self, message: str, callback: Callable[..., Any]) -> None:
        super().__init__(message)
        self.callback = callback


class UnknownActorNameError(RivetctlError):
    """The registry has no actor with this name."""

    def __init__(self, name: str, known: list[str]) -> None:
        import difflib

        self.name = name
        self.known = sorted(known)
        close = difflib.get_close_matches(name, self.known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(self.known) if self.known else "(none)"
        super().__init__(f"no actor named {name!r} in the registry{hint} (known: {listing})")


class ActorRef(NamedTuple):
    """Which actor an error came from, as the server reports it."""

    actor_id: str
    generation: int | None = None
    key: str | None = None


class ActorError(RivetctlError):
    """An error answered by the RivetKit server: ``group.code`` plus message and metadata.

    ``code`` is the bare code (``"RATE_LIMITED"`` for ``UserError(..., {code: "RATE_LIMITED"})``) so that
    ``err.code == "RATE_LIMITED"`` works as in the JavaScript client; ``err.full_code`` is ``group.code``.
    """

    def __init__(
        self,
        group: str,
        code: str,
        message: str,
        *,
        metadata: Any = None,
        actor: ActorRef | None = None,
        ray_id: str | None = None,
        status: int | None = None,
        action_id: int | None = None,
    ) -> None:
        self.group = group
        self.code = code
        self.message = message
        self.metadata = metadata
        self.actor = actor
        self.ray_id = ray_id
        self.status = status
        self.action_id = action_id
        super().__init__(self._describe())

    @property
    def full_code(self) -> str:
        return f"{self.group}.{self.code}"

    @property
    def is_user_error(self) -> bool:
        """True for errors thrown by actor code with ``UserError``."""
        return self.group == "user"

    def _describe(self) -> str:
        text = f"{self.full_code}: {self.message}"
        if self.ray_id:
            text += f" (ray {self.ray_id})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.group!r}, {self.code!r}, {self.message!r})"


class ActorNotFoundError(ActorError):
    """``actor.not_found``: no actor with that key or id (or it was destroyed)."""


class ActorExistsError(ActorError):
    """``actor.duplicate_key``: ``create`` found an actor with that key; ``existing_actor_id`` names it."""

    @property
    def existing_actor_id(self) -> str | None:
        if isinstance(self.metadata, dict):
            value = self.metadata.get("existing_actor_id")
            return value if isinstance(value, str) else None
        return None


class AuthError(ActorError):
    """The server refused the request's credentials or connection params."""


class ActionTimeoutError(ActorError):
    """``actor.action_timed_out``: the action ran past its ``actionTimeout``."""


_BY_CODE: dict[str, type[ActorError]] = {
    "actor.not_found": ActorNotFoundError,
    "actor.duplicate_key": ActorExistsError,
    "actor.action_timed_out": ActionTimeoutError,
    "inspector.unauthorized": AuthError,
}


_AUTH_CODES = frozenset({"unauthorized", "forbidden", "unauthenticated", "invalid_token"})
"""Codes that mean "credentials refused" in any group (actors often throw ``UserError`` with these)."""


class ErrorFields(Protocol):
    """What every decoded RivetKit error carries (an ``Error`` frame, an HTTP error body)."""

    @property
    def group(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def metadata(self) -> Any: ...
    @property
    def actor(self) -> ActorRef | None: ...


def actor_error_from(
    err: ErrorFields, *, ray_id: str | None = None, status: int | None = None, action_id: int | None = None
) -> ActorError:
    """``actor_error`` for a decoded RivetKit error message."""
    return actor_error(
        err.group,
        err.code,
        err.message,
        metadata=err.metadata,
        actor=err.actor,
        ray_id=ray_id,
        status=status,
        action_id=action_id,
    )


def actor_error(
    group: str,
    code: str,
    message: str,
    *,
    metadata: Any = None,
    actor: ActorRef | None = None,
    ray_id: str | None = None,
    status: int | None = None,
    action_id: int | None = None,
) -> ActorError:
    """Build the most specific ``ActorError`` subclass for ``group.code``."""
    cls = _BY_CODE.get(f"{group}.{code}")
    if cls is None:
        authish = group == "auth" or status in (401, 403) or code.lower() in _AUTH_CODES
        cls = AuthError if authish else ActorError
    return cls(
        group,
        code,
        message,
        metadata=metadata,
        actor=actor,
        ray_id=ray_id,
        status=status,
        action_id=action_id,
    )
