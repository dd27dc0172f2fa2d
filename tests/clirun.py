"""The CLI run in-process with injected env and streams (stdout is not a TTY: JSON output), and what it
printed."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rivetctl.cli.app import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)

    def lines(self) -> list[dict[str, object]]:
        """stdout as JSON lines (``-o jsonl``, streams)."""
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


Run = Callable[..., Result]


def in_process(base_env: Mapping[str, str]) -> Run:
    """``run(*args, stdin="", env=None)``: the CLI with ``base_env`` (plus ``env``) as its whole environment."""

    def run(*args: str, stdin: str = "", env: Mapping[str, str] | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), env={**base_env, **(env or {})}, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return Result(code, out.getvalue(), err.getvalue())

    return run
