"""The REPL without a terminal: one command per line in, JSON lines out (replayable, testable)."""

from __future__ import annotations

import asyncio
from typing import IO, Any

from rivetctl.errors import RivetctlError


class JsonPrinter:
    """Session output as one JSON object per line on stdout; notes go to stderr as text."""

    def __init__(self, out: IO[str], err: IO[str]) -> None:
        self.out = out
        self.err = err
        self.line = 0

    def _write(self, record: dict[str, Any]) -> None:
        from rivetctl.output.render import dumps

        self.out.write(dumps(record) + "\n")
        self.out.flush()

    def result(self, action: str, value: Any, ms: float) -> None:
        self._write({"type": "result", "line": self.line, "action": action, "output": value, "ms": round(ms, 2)})

    def event(self, record: dict[str, Any]) -> None:
        self._write({"type": "event", **record})

    def info(self, text: str) -> None:
        from rivetctl.output.jsonable import escape_control

        self.err.write(escape_control(text) + "\n")
        self.err.flush()

    def opened(self, label: str, actor_id: str | None, connection_id: str | None) -> None:
        self._write({"type": "open", "actor": label, "actor_id": actor_id, "connection_id": connection_id})

    def error(self, text: str) -> None:
        self._write({"type": "error", "line": self.line, "error": {"message": text}})

    def table(self, columns: list[str], rows: list[dict[str, Any]], title: str = "") -> None:
        self._write({"type": "table", "line": self.line, "title": title, "rows": rows})

    def value(self, value: Any) -> None:
        self._write({"type": "value", "line": self.line, "value": value})


def run_script(cli: Any, name: str | None, key: str | None, subscribe: list[str], linger: float) -> int:
    """Run stdin line by line; exit status 3 if any command failed (the others still ran)."""
    from rivetctl.frontend.exits import Exit
    from rivetctl.frontend.runner import run

    async def body(client: Any) -> int:
        from rivetctl.frontend.exits import error_document
        from rivetctl.repl.session import Session

        printer = JsonPrinter(cli.stdout, cli.stderr)
        session = Session(cli, client, printer)
        failures = 0
        try:
            if name is not None and key is not None:
                await session.use(name, key, subscribe=subscribe)
            loop = asyncio.get_running_loop()
            while True:
                text = await loop.run_in_executor(None, cli.stdin.readline)
                if not text:
                    break
                printer.line += 1
                try:
                    if not await session.execute(text):
                        break
                except RivetctlError as exc:
                    failures += 1
                    printer._write({"type": "error", "line": printer.line, **error_document(exc)})
            if linger:
                await asyncio.sleep(linger)
        finally:
            await session.close()
        return int(Exit.ACTOR_ERROR) if failures else 0

    return run(cli, body)
