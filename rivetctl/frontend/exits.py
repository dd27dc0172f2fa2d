"""The one table from exceptions to exit codes and one-line messages."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from rivetctl import errors as e


class Exit(IntEnum):
    """Documented exit codes (README, man page)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    ACTOR_ERROR = 3
    NOT_FOUND = 4
    ALREADY_EXISTS = 5
    AUTH = 6
    NETWORK = 7
    TIMEOUT = 8
    PROTOCOL = 9
    INTERRUPTED = 130


EXIT_DESCRIPTIONS = {
    Exit.OK: "success",
    Exit.ERROR: "any other error",
    Exit.USAGE: "bad command line, option, argument, config or payload (nothing was sent), or a feature the "
    "server does not offer (nothing was changed)",
    Exit.ACTOR_ERROR: "the actor or server answered with an error (e.g. a UserError thrown by an action)",
    Exit.NOT_FOUND: "no such actor, actor name or action",
    Exit.ALREADY_EXISTS: "create found an actor with that key, or a conflict: the state changed on the server "
    "while it was being edited (nothing written)",
    Exit.AUTH: "credentials or connection params refused",
    Exit.NETWORK: "server unreachable or connection lost",
    Exit.TIMEOUT: "no answer in time (--timeout, or the actor's action timeout)",
    Exit.PROTOCOL: "the server sent something that is not the RivetKit protocol",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
}

# Most specific class first.
_TABLE: list[tuple[type[BaseException], Exit]] = [
    (e.UnknownActorNameError, Exit.NOT_FOUND),
    (e.ActorNotFoundError, Exit.NOT_FOUND),
    (e.ActorExistsError, Exit.ALREADY_EXISTS),
    (e.ConflictError, Exit.ALREADY_EXISTS),
    (e.AuthError, Exit.AUTH),
    (e.ActionTimeoutError, Exit.TIMEOUT),
    (e.RequestTimeoutError, Exit.TIMEOUT),
    (e.ConnectionLostError, Exit.NETWORK),
    (e.NetworkError, Exit.NETWORK),
    (e.PayloadTooLargeError, Exit.USAGE),
    (e.ConfigError, Exit.USAGE),
    (e.ProtocolError, Exit.PROTOCOL),
    (e.ConnectionDisposedError, Exit.ERROR),
    (e.ActorError, Exit.ACTOR_ERROR),
    (KeyboardInterrupt, Exit.INTERRUPTED),
]


_ACTION_NOT_FOUND = frozenset({"actor.action_not_found", "action.not_found"})
"""An unknown action: 2.3 says ``actor.action_not_found``, RivetKit 2.0–2.2 ``action.not_found``."""


def exit_code(exc: BaseException) -> Exit:
    if isinstance(exc, e.ActorError) and exc.full_code in _ACTION_NOT_FOUND:
        return Exit.NOT_FOUND
    for cls, code in _TABLE:
        if isinstance(exc, cls):
            return code
    return Exit.ERROR


def message(exc: BaseException) -> str:
    """One line, no traceback, no secret (messages never include tokens or params)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, e.ActorError):
        text = f"{exc.full_code}: {exc.message}"
        if exc.metadata not in (None, {}):
            from rivetctl.output.render import dumps

            text += f" {dumps(exc.metadata)}"
        if exc.ray_id:
            text += f" (ray {exc.ray_id})"
    elif not isinstance(exc, e.RivetctlError):
        text = f"internal error: {type(exc).__name__}: {text} (run with --traceback for details)"
    return text


def error_document(exc: BaseException) -> dict[str, Any]:
    """The machine-readable error for ``-o json``."""
    doc: dict[str, Any] = {
        "error": {"message": message(exc), "exit_code": int(exit_code(exc)), "type": type(exc).__name__}
    }
    if isinstance(exc, e.ActorError):
        doc["error"].update(
            {
                "group": exc.group,
                "code": exc.code,
                "metadata": exc.metadata,
                "ray_id": exc.ray_id,
                "status": exc.status,
                "actor": None
                if exc.actor is None
                else {
                    "actor_id": exc.actor.actor_id,
                    "generation": exc.actor.generation,
                    "key": exc.actor.key,
                },
            }
        )
    if isinstance(exc, e.UnknownActorNameError):
        doc["error"]["known"] = exc.known
    return doc
