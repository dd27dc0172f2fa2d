"""The reconnect policy: delay schedule, jitter bounds, close-reason parsing, retry-or-fatal table."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetctl.protocol.backoff import (
    MAX_DELAY,
    CloseReason,
    Verdict,
    backoff,
    classify,
    classify_code,
    parse_close_reason,
)

NOMINAL = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_schedule_without_jitter_is_the_official_one() -> None:
    assert list(itertools.islice(backoff(jitter=0), 10)) == NOMINAL


@given(st.integers(min_value=0, max_value=2**32))
def test_jittered_delays_stay_within_half_and_whole_of_nominal(seed: int) -> None:
    delays = list(itertools.islice(backoff(rng=random.Random(seed)), 10))
    for delay, nominal in zip(delays, NOMINAL, strict=True):
        assert nominal / 2 <= delay <= nominal


def test_delays_never_exceed_the_cap_even_after_many_attempts() -> None:
    delays = list(itertools.islice(backoff(), 200))
    assert max(delays) <= MAX_DELAY
    assert min(delays[10:]) >= MAX_DELAY / 2


def test_jitter_actually_varies() -> None:
    gen = backoff(rng=random.Random(1))
    first = [next(gen) for _ in range(8)]
    gen2 = backoff(rng=random.Random(2))
    assert first != [next(gen2) for _ in range(8)]


def test_reproducible_with_a_seeded_rng() -> None:
    a = list(itertools.islice(backoff(rng=random.Random(7)), 5))
    b = list(itertools.islice(backoff(rng=random.Random(7)), 5))
    assert a == b


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0}, {"factor": 0.5}, {"maximum": 0.1}, {"jitter": 1.5}, {"jitter": -0.1}],
)
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        next(backoff(**kwargs))


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (
            "actor.not_found#pmdw8yrt18gphjwup8smavhri0dl00",
            CloseReason("", "actor", "not_found", "pmdw8yrt18gphjwup8smavhri0dl00"),
        ),
        ("auth.forbidden", CloseReason("", "auth", "forbidden")),
        (
            "guard.actor_wake_retries_exceeded#abc",
            CloseReason("", "guard", "actor_wake_retries_exceeded", "abc"),
        ),
        ("kicked", CloseReason("")),
        ("", CloseReason("")),
        ("Disposed", CloseReason("")),
        ("bye. see you", CloseReason("")),
        ("version 1.2", CloseReason("")),
        ("a.b#not a ray", CloseReason("")),
    ],
)
def test_parse_close_reason(reason: str, expected: CloseReason) -> None:
    parsed = parse_close_reason(reason)
    assert (parsed.text, parsed.group, parsed.code, parsed.ray_id) == (
        reason,
        expected.group,
        expected.code,
        expected.ray_id,
    )


def test_parse_close_reason_none() -> None:
    assert parse_close_reason(None).full_code is None


RETRY, FATAL = Verdict.RETRY, Verdict.FATAL


@pytest.mark.parametrize(
    ("close_code", "reason", "error", "expected"),
    [
        # transport-level failures without a RivetKit code: always retried
        (None, "", None, RETRY),  # refused / timed out / handshake failed
        (1006, "", None, RETRY),
        (1000, "kicked", None, RETRY),
        (1000, "", None, RETRY),  # actor destroyed while connected
        (1001, "", None, RETRY),
        (1011, "", None, RETRY),
        (1003, "", None, FATAL),  # unsupported data without a code
        # lifecycle codes in the close reason
        (1011, "guard.actor_wake_retries_exceeded#r", None, RETRY),
        (1011, "actor.restarting", None, RETRY),
        (1011, "actor.stopped#x", None, RETRY),
        (1001, "ws.going_away", None, RETRY),
        (1011, "guard.service_unavailable", None, RETRY),
        (1011, "guard.tunnel_message_timeout", None, RETRY),
        (1011, "guard.gateway_response_start_timeout", None, RETRY),
        (1011, "pegboard.route_resolve_query_timeout#r", None, RETRY),  # seen on 2.3.19 under load
        # rejections: fatal, no retry storm
        (1011, "auth.forbidden", None, FATAL),
        (1011, "user.unauthorized", None, FATAL),
        (1003, "actor.unsupported_websocket_encoding", None, FATAL),
        (1011, "guard.missing_header#r", None, FATAL),
        (1011, "core.internal_error", None, FATAL),
        # the Error frame wins over the close reason
        (1011, "whatever.thing", ("auth", "forbidden"), FATAL),
        (None, "", ("user", "unauthorized"), FATAL),
        (None, "", ("guard", "actor_wake_retries_exceeded"), RETRY),
        (1011, "auth.forbidden", ("actor", "restarting"), RETRY),
    ],
)
def test_classify(close_code: int | None, reason: str, error: tuple[str, str] | None, expected: Verdict) -> None:
    assert classify(close_code, reason, error) is expected


@pytest.mark.parametrize(
    ("code", "get_or_create", "get", "by_id"),
    [
        ("actor.not_found", RETRY, FATAL, FATAL),
        ("actor.destroyed_during_creation", RETRY, FATAL, FATAL),
        ("actor.destroyed_while_waiting_for_ready", RETRY, FATAL, FATAL),
        ("actor.starting", RETRY, RETRY, RETRY),
        ("actor.stopping", RETRY, RETRY, RETRY),
        ("actor.dropped_reply", RETRY, RETRY, RETRY),
        ("guard.actor_wake_retries_exceeded", RETRY, RETRY, RETRY),
        ("auth.forbidden", FATAL, FATAL, FATAL),
        ("actor.action_not_found", FATAL, FATAL, FATAL),
    ],
)
def test_stale_actor_codes_depend_on_the_query(code: str, get_or_create: Verdict, get: Verdict, by_id: Verdict) -> None:
    assert classify_code(code, query="get_or_create") is get_or_create
    assert classify_code(code, query="get") is get
    assert classify_code(code, query="id") is by_id
    group, _, bare = code.partition(".")
    assert classify(1011, f"{code}#ray", query="get") is get
    assert classify(None, "", (group, bare), query="id") is by_id


@given(st.text(max_size=40))
def test_parse_close_reason_never_raises(reason: str) -> None:
    parsed = parse_close_reason(reason)
    assert parsed.text == reason
    if parsed.full_code is not None:
        assert reason.startswith(parsed.full_code)
