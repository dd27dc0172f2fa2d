"""Shared fixtures: one real RivetKit server per test session, its log attached to failing tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from rivetctl.devserver import DevServer, DevServerError

_SERVER: DevServer | None = None


@pytest.fixture(scope="session")
def server() -> Iterator[DevServer]:
    """A throw-away server on free ports with its own storage; torn down (node and engine) at the end.

    A test that needs it fails, never skips, when it cannot start.
    """
    global _SERVER
    srv = DevServer()
    try:
        srv.start(timeout=90)
    except DevServerError as exc:
        srv.stop()
        pytest.fail(f"the real RivetKit server could not start: {exc}", pytrace=False)
    _SERVER = srv
    try:
        yield srv
    finally:
        _SERVER = None
        srv.stop()


@pytest.fixture(scope="session")
def endpoint(server: DevServer) -> str:
    return server.endpoint


@pytest.fixture
def key() -> str:
    """A fresh actor key per test, so tests never share actor state."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SERVER is not None and "server" in getattr(item, "fixturenames", ()):
        report.sections.append(("RivetKit server log (tail)", _SERVER.log_tail()))


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("RIVETCTL_TEST", "1")
