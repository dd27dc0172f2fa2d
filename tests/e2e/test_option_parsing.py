"""Option parsing as the help describes it, against the real server: global options after the command,
``--`` ending option parsing so that action arguments may start with ``-``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rivetctl.cli.app import main
from tests.envs import private_home


def _run(endpoint: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = {"RIVET_ENDPOINT": endpoint, **private_home(tmp_path)}
    code = main(list(args), env=env, stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_double_dash_passes_option_like_arguments_to_the_action(endpoint: str, key: str, tmp_path: Path) -> None:
    code, out, err = _run(endpoint, tmp_path, "call", "counter", key, "echo", "-o", "json", "--", "-n", "hello", "-o")
    assert code == 0, err
    assert json.loads(out) == ["-n", "hello", "-o"]


def test_global_options_may_follow_the_command(endpoint: str, key: str, tmp_path: Path) -> None:
    code, out, err = _run(endpoint, tmp_path, "call", "counter", key, "increment", "3", "-o", "raw", "--timeout", "20")
    assert code == 0, err
    assert out == "3\n"
