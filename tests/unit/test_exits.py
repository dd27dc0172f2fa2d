"""Exceptions map to documented exit codes and one-line messages."""

from __future__ import annotations

import pytest

from rivetctl import errors as e
from rivetctl.frontend.exits import EXIT_DESCRIPTIONS, Exit, error_document, exit_code, message


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (e.actor_error("actor", "not_found", "gone"), Exit.NOT_FOUND),
        (e.actor_error("actor", "action_not_found", "no"), Exit.NOT_FOUND),
        (e.UnknownActorNameError("countr", ["counter"]), Exit.NOT_FOUND),
        (e.actor_error("actor", "duplicate_key", "dup"), Exit.ALREADY_EXISTS),
        (e.actor_error("auth", "forbidden", "Forbidden"), Exit.AUTH),
        (e.actor_error("user", "unauthorized", "bad", status=500), Exit.AUTH),
        (e.actor_error("inspector", "unauthorized", "no", status=401), Exit.AUTH),
        (e.actor_error("user", "RATE_LIMITED", "nope", status=500), Exit.ACTOR_ERROR),
        (e.actor_error("actor", "action_timed_out", "slow"), Exit.TIMEOUT),
        (e.RequestTimeoutError("t"), Exit.TIMEOUT),
        (e.NetworkError("refused"), Exit.NETWORK),
        (e.ConnectionLostError("lost"), Exit.NETWORK),
        (e.ConfigError("bad"), Exit.USAGE),
        (e.PayloadTooLargeError("big", size=2, limit=1), Exit.USAGE),
        (e.ProtocolError("garbage"), Exit.PROTOCOL),
        (KeyboardInterrupt(), Exit.INTERRUPTED),
        (RuntimeError("boom"), Exit.ERROR),
    ],
)
def test_exit_codes(exc: BaseException, code: Exit) -> None:
    assert exit_code(exc) == code
    assert "\n" not in message(exc)
    assert code in EXIT_DESCRIPTIONS


def test_did_you_mean() -> None:
    msg = message(e.UnknownActorNameError("countr", ["counter", "chatRoom"]))
    assert "did you mean 'counter'" in msg and "chatRoom" in msg


def test_error_document_for_actor_error() -> None:
    exc = e.actor_error("user", "custom_code", "Custom", metadata={"n": 42}, ray_id="ray1", status=500)
    doc = error_document(exc)["error"]
    assert doc["group"] == "user" and doc["code"] == "custom_code" and doc["metadata"] == {"n": 42}
    assert doc["exit_code"] == 3 and doc["ray_id"] == "ray1"
    assert exc.code == "custom_code" and exc.full_code == "user.custom_code"
