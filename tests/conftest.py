"""Shared fixtures: one real RivetKit server per test session, its log attached to failing tests.

The server is the example server (``rivetctl.devserver.DevServer``: rivetkit 2.3.19 and its engine, the whole
example registry) unless ``RIVETCTL_TEST_SERVER`` names a target of the compatibility matrix
(``tests/compat/rig.py``), which then serves the portable actors (counter, chatRoom, withInput, secure,
timeouts) instead:

- ``RIVETCTL_TEST_SERVER=2.2.1-fs``: RivetKit 2.0-2.2 with its file-system driver (its own HTTP API);
- ``RIVETCTL_TEST_SERVER=2.2.1-runner``: RivetKit 2.0-2.2 as a runner behind the 2.3.19 engine;
- ``RIVETCTL_TEST_SERVER=2.3.11`` (or ``2.3.11-engine``): RivetKit 2.3.x with the engine it spawns.

The versions are the directories of ``tests/compat/versions``. ``scripts/test-compat`` runs the tests marked
``compat`` against each target; ``server_kind`` tells a test which one it has, e.g. ``("2.2.1", "runner")``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from rivetctl.devserver import DevServer, DevServerError, project_files

if TYPE_CHECKING:
    from tests.compat.rig import CompatServer

_SERVER: DevServer | CompatServer | None = None
TEST_SERVER_ENV = "RIVETCTL_TEST_SERVER"


def _test_server() -> DevServer | CompatServer:
    target = os.environ.get(TEST_SERVER_ENV, "").strip()
    if not target:
        return DevServer()
    from tests.compat.rig import CompatServer, SpecError

    try:
        return CompatServer(target)
    except SpecError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def server() -> Iterator[DevServer | CompatServer]:
    """A throw-away server on free ports with its own storage; torn down (node and engine) at the end.

    A test that needs it fails, never skips, when it cannot start.
    """
    global _SERVER
    srv = _test_server()
    try:
        srv.start(timeout=90)
    except DevServerError as exc:
        srv.stop()
        target = getattr(srv, "name", None)
        label = f"the RivetKit server {target}" if target else "the real RivetKit server"
        pytest.fail(f"{label} could not start: {exc}", pytrace=False)
    _SERVER = srv
    try:
        yield srv
    finally:
        _SERVER = None
        srv.stop()


@pytest.fixture(scope="session")
def endpoint(server: DevServer | CompatServer) -> str:
    return server.endpoint


@pytest.fixture(scope="session")
def server_kind(server: DevServer | CompatServer) -> tuple[str, str]:
    """(RivetKit version, shape) of the session's server: ``("2.3.19", "engine")`` for the example server,
    ``("2.2.1", "file-system")``, ``("2.2.1", "runner")``, ``("2.3.11", "engine")`` for compat targets."""
    version = getattr(server, "version", None)
    shape = getattr(server, "shape", None)
    if isinstance(version, str) and isinstance(shape, str):
        return version, shape
    dependencies = json.loads(project_files()["package.json"]).get("dependencies", {})
    return str(dependencies.get("rivetkit", "?")), "engine"


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
