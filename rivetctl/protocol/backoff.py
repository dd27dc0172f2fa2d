"""Reconnection policy as values: the delay generator and the retry-or-fatal verdict (no I/O, no clock).

The connection loop in ``rivetctl.client.connection`` asks two questions after every failed attempt —
"may I try again?" (:func:`classify`) and "how long do I wait?" (``next()`` on :func:`backoff`) — and
answers neither itself, so both are table-tested here without sockets or timers.

Rules (RivetKit protocol reference §5.6, §7.2, §7.3, §8):

- Anything that fails *without* a RivetKit ``group.code`` (refused TCP, failed handshake, timeout, a close
  such as ``1006`` or ``1000 "kicked"``) is retried.
- A failure that names a ``group.code`` (a connection-level ``Error`` frame before ``Init``, or a close
  reason ``group.code#rayId``) is retried only for lifecycle codes (the actor or gateway is restarting,
  sleeping, waking, overloaded) and, for key queries, stale-actor codes. Everything else — ``auth.*``,
  ``user.*`` thrown by ``onBeforeConnect``, an unsupported encoding — is fatal: no retry storm.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

INITIAL_DELAY = 0.25
"""First reconnect delay in seconds (the official client's p-retry ``minTimeout``)."""
MAX_DELAY = 30.0
"""Delays stop doubling here."""
FACTOR = 2.0
JITTER = 0.5
"""Fraction of each delay that is randomised ("equal jitter"): a nominal 2 s delay waits 1–2 s."""
STABLE_AFTER = 2.0
"""A connection that stayed up this long resets the backoff; a shorter one keeps counting (flap guard)."""

QueryKind = Literal["get", "get_or_create", "id"]

LIFECYCLE_CODES = frozenset(
    {
        "actor.restarting",
        "actor.stopped",
        "ws.going_away",
        "guard.service_unavailable",
        "guard.actor_wake_retries_exceeded",
        "guard.actor_stopped_while_waiting",
        "guard.tunnel_request_aborted",
        "guard.tunnel_message_timeout",
        "guard.tunnel_response_closed",
        "guard.gateway_response_start_timeout",
        # Not in the official client's list, but transient by their nature (§11): a runner that cannot
        # start *yet*, an overloaded gateway, rate limiting. The 2.3.19 engine reports the query-route
        # timeout as ``pegboard.route_resolve_query_timeout`` (seen when several sockets race to create
        # the same new actor on a loaded server); §11 of the reference says ``guard.``: accept both.
        "guard.actor_ready_timeout",
        "guard.actor_runner_failed",
        "guard.route_resolve_query_timeout",
        "pegboard.route_resolve_query_timeout",
        "guard.rate_limit",
    }
)
"""``group.code`` values that mean "the actor or gateway is between lives": always worth another try."""

STALE_ACTOR_CODES = frozenset(
    {
        "actor.not_found",
        "actor.starting",
        "actor.stopping",
        "actor.not_configured",
        "actor.dropped_reply",
    }
)
"""Codes a key query may see while the gateway's resolution races a destroy or a start (§7.2)."""


class Verdict(enum.Enum):
    """What to do after a failed connection attempt."""

    RETRY = "retry"
    FATAL = "fatal"


def backoff(
    initial: float = INITIAL_DELAY,
    factor: float = FACTOR,
    maximum: float = MAX_DELAY,
    jitter: float = JITTER,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Infinite reconnect delays: ``initial * factor**n`` capped at ``maximum``, with equal jitter.

    Each yielded delay lies in ``[(1 - jitter) * nominal, nominal]``, so the nominal schedule
    (0.25, 0.5, 1, 2, 4, … 30, 30, …) is an upper bound and never exceeded. ``jitter=0`` gives the
    official client's exact schedule; pass ``rng`` for reproducible delays.
    """
    if initial <= 0 or factor < 1 or maximum < initial or not 0 <= jitter <= 1:
        raise ValueError("backoff needs initial > 0, factor >= 1, maximum >= initial, 0 <= jitter <= 1")
    rand = rng or random.Random()
    nominal = initial
    while True:
        yield nominal * (1 - jitter * rand.random())
        nominal = min(maximum, nominal * factor)


@dataclass(frozen=True, slots=True)
class CloseReason:
    """A parsed close reason: ``group.code#rayId`` or free text (a server kick, ``"Disposed"``)."""

    text: str
    group: str | None = None
    code: str | None = None
    ray_id: str | None = None

    @property
    def full_code(self) -> str | None:
        return f"{self.group}.{self.code}" if self.group and self.code else None


def _is_ident(text: str) -> bool:
    return bool(text) and all(ch.isalnum() or ch in "_-" for ch in text)


def bare_code(reason: str | None) -> bool:
    """Whether a close reason is a lone error code (``unauthorized``: RivetKit 2.0 sends no group)."""
    return reason is not None and _is_ident(reason)


def parse_close_reason(reason: str | None) -> CloseReason:
    """Split ``actor.not_found#ray`` into group, code and ray id; free text keeps only ``text``.

    Only ``identifier.identifier`` counts as a code, so a kick reason such as ``"bye. see you"`` or
    ``"kicked"`` stays free text.
    """
    text = reason or ""
    head, sep, ray = text.partition("#")
    group, dot, code = head.partition(".")
    if dot and _is_ident(group) and _is_ident(code) and (not sep or _is_ident(ray)):
        return CloseReason(text, group, code, ray or None)
    return CloseReason(text)


def classify(
    close_code: int | None = None,
    reason: str | None = None,
    error: tuple[str, str] | None = None,
    *,
    query: QueryKind = "get_or_create",
) -> Verdict:
    """Retry or give up after an attempt that failed before ``Init``.

    Args:
        close_code: the WebSocket close code, ``None`` when the socket never opened (refused, timeout,
            failed handshake without a RivetKit error body).
        reason: the close reason text (``group.code#rayId`` or free text).
        error: ``(group, code)`` of a connection-level ``Error`` frame or of a handshake error body;
            it wins over the close reason.
        query: how the connection addresses its actor. Key queries re-resolve on every attempt, so
            stale-actor codes are retried; ``get`` does not retry ``actor.not_found`` (the key simply has
            no actor) and a by-id connection retries no stale code (the id will not come back).
    """
    if error is not None:
        return classify_code(f"{error[0]}.{error[1]}", query=query)
    full = parse_close_reason(reason).full_code
    if full is None:
        # No RivetKit code: a transport-level failure (1006, refused, kick, going away): retry.
        return Verdict.FATAL if close_code == 1003 else Verdict.RETRY
    return classify_code(full, query=query)


def classify_code(full_code: str, *, query: QueryKind = "get_or_create") -> Verdict:
    """The verdict for one ``group.code`` (see :func:`classify`)."""
    if full_code in LIFECYCLE_CODES:
        return Verdict.RETRY
    gone = full_code == "actor.not_found" or full_code.startswith("actor.destroyed_")
    if gone:
        # A key query that gets-or-creates finds (or makes) the actor again on the next attempt; a
        # ``get`` key has no actor, and an actor id never comes back.
        return Verdict.RETRY if query == "get_or_create" else Verdict.FATAL
    if full_code in STALE_ACTOR_CODES:
        return Verdict.RETRY
    return Verdict.FATAL
