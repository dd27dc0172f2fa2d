"""Only gateway routing failures that never reached an actor are retried (a retry must not run an action twice)."""

from __future__ import annotations

import pytest

from rivetctl.client.handle import never_reached_actor
from rivetctl.errors import ActorRef, actor_error
from rivetctl.transport.http import HttpResponse


@pytest.mark.parametrize(
    ("group", "code", "headers", "actor", "retry"),
    [
        ("pegboard", "route_resolve_query_timeout", {}, None, True),
        ("guard", "route_resolve_query_timeout", {}, None, True),
        ("guard", "service_unavailable", {}, None, True),
        ("actor", "destroyed_during_creation", {}, None, True),
        ("actor", "destroyed_during_creation", {"x-rivet-actor": "abc"}, None, False),
        ("actor", "not_found", {}, None, False),
        ("pegboard", "route_resolve_query_timeout", {"x-rivet-actor": "abc"}, None, False),
        ("guard", "service_unavailable", {}, ActorRef("abc", 1), False),
        ("user", "RATE_LIMITED", {}, None, False),
        ("actor", "action_timed_out", {}, None, False),
        ("rivetkit", "internal_error", {}, None, False),
    ],
)
def test_retry_policy(group: str, code: str, headers: dict[str, str], actor: ActorRef | None, retry: bool) -> None:
    error = actor_error(group, code, "m", actor=actor)
    assert never_reached_actor(error, HttpResponse(504, headers, b"")) is retry
