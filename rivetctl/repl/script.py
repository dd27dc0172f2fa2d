"""The REPL without a terminal: one command per line in, JSON lines out (replayable, testable)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import IO, TYPE_CHECKING, Any

from rivetctl.errors import RivetctlError

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.frontend.settings import Settings


class JsonPrinter:
    """Session output as one JSON object per line on stdout; notes go to stderr as text."""

    def __init__(self, out: IO[str], err: IO[str]) -> None:
        self.out = out
        self.err = err
        self.line = 0
        self.gone = asyncio.Event()
        """Set when stdout's reader went away (``… | head -1``): the session ends quietly."""

    def write(self, record: dict[str, Any]) -> None:
        from rivetctl.output.render import dumps

        if self.gone.is_set():
            return
        try:
            self.out.write(dumps(record) + "\n")
            self.out.flush()
        except BrokenPipeError:
            # Also reached from connection callbacks (events), where raising would only be logged.
            self.gone.set()

    def result(self, action: str, value: Any, ms: float) -> None:
        self.write({"type": "result", "line": self.line, "action": action, "output": value, "ms": round(ms, 2)})

    def event(self, record: dict[str, Any]) -> None:
        self.write({"type": "event", **record})

    def info(self, text: str) -> None:
        from rivetctl.output.jsonable import escape_control

        self.err.write(escape_control(text) + "\n")
        self.err.flush()

    def opened(self, label: str, actor_id: str | None, connection_id: str | None) -> None:
        self.write({"type": "open", "actor": label, "actor_id": actor_id, "connection_id": connection_id})

    def error(self, text: str) -> None:
        self.write({"type": "error", "line": self.line, "error": {"message": text}})

    def table(self, columns: list[str], rows: list[dict[str, Any]], title: str = "") -> None:
        self.write({"type": "table", "line": self.line, "title": title, "rows": rows})

    def value(self, value: Any) -> None:
        self.write({"type": "value", "line": self.line, "value": value})


def run_script(
    settings: Settings,
    name: str | None,
    key: str | None,
    subscribe: list[str],
    linger: float,
    *,
    wait: bool = False,
) -> int:
    """Run stdin line by line; exit status 3 if any command failed (the others still ran).

    An actor given here that cannot be reached ends the run with that error (exit 7) after the first failed
    attempt, or with ``wait``, is retried (a line on stderr each time) until its connection opens.
    """
    from rivetctl.frontend.exits import Exit
    from rivetctl.frontend.runner import run

    async def body(client: Client) -> int:
        from rivetctl.frontend.exits import error_document
        from rivetctl.repl.session import Session

        printer = JsonPrinter(settings.stdout, settings.stderr)
        session = Session(settings, client, printer, unreachable="wait" if wait else "fail")
        failures = 0
        try:
            if name is not None and key is not None:
                await session.use(name, key, subscribe=subscribe)
            loop = asyncio.get_running_loop()
            while not printer.gone.is_set():
                text = await _first(loop.run_in_executor(None, settings.stdin.readline), printer.gone)
                if not text:
                    break
                printer.line += 1
                try:
                    if not await session.execute(text):
                        break
                except RivetctlError as exc:
                    failures += 1
                    printer.write({"type": "error", "line": printer.line, **error_document(exc)})
            if linger and not printer.gone.is_set():
                await _first(asyncio.sleep(linger), printer.gone)
        finally:
            await session.close()
        if printer.gone.is_set():
            raise BrokenPipeError  # the command line ends a run whose reader went away quietly
        return int(Exit.ACTOR_ERROR) if failures else 0

    return run(settings, body)


async def _first(work: Awaitable[Any], gone: asyncio.Event) -> Any:
    """``await work``, unless ``gone`` is set first (then ``None``; a pending stdin read is left behind)."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(gone.wait())
    done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if task in done:
        return task.result()
    task.cancel()
    return None
