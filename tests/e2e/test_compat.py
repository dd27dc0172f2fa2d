"""The tests every server of the compatibility matrix must pass (marker ``compat``): they use only the portable
actors (``rivetctl/example_server/basic.mjs``). ``scripts/test-compat`` runs them against each target; against
the example server they run with the rest of the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clirun import Run, in_process
from tests.envs import private_home

pytestmark = pytest.mark.compat


@pytest.fixture
def rivetctl(endpoint: str, tmp_path: Path) -> Run:
    """The CLI in-process against the session's server, with a private home (stdout is not a TTY: JSON)."""
    return in_process({"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)})


def test_call_increment_prints_the_count(rivetctl: Run, key: str) -> None:
    r = rivetctl("call", "counter", key, "increment", "5")
    assert (r.code, r.out.strip()) == (0, "5"), r.err


def test_call_get_count_sees_earlier_calls(rivetctl: Run, key: str) -> None:
    assert rivetctl("call", "counter", key, "increment", "2").code == 0
    assert rivetctl("call", "counter", key, "increment", "3").code == 0
    r = rivetctl("call", "counter", key, "getCount")
    assert (r.code, r.json()) == (0, 5), r.err


def test_call_unknown_action_exits_4(rivetctl: Run, key: str) -> None:
    r = rivetctl("call", "counter", key, "nope")
    assert r.code == 4, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
