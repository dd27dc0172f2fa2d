"""The terminal REPL: ``prompt_async`` under ``patch_stdout`` so events print above the line being typed;
bottom toolbar, completion, secret-free history, Ctrl-C cancels the running call, Ctrl-D leaves."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rivetctl.config import state_dir
from rivetctl.errors import RivetctlError
from rivetctl.repl.grammar import is_secret_line

if TYPE_CHECKING:
    from prompt_toolkit.history import History
    from rich.console import Console

    from rivetctl.client import Client
    from rivetctl.frontend.settings import Settings
    from rivetctl.repl.session import Session

T = TypeVar("T")


class RichPrinter:
    """Session output as rich renderables on the (patched) stdout."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def result(self, action: str, value: Any, ms: float) -> None:
        from rich.json import JSON
        from rich.text import Text

        from rivetctl.output.render import dumps

        self.console.print(JSON(dumps(value)) if not isinstance(value, str) else Text(value))
        self.console.print(Text(f"{action} · {ms:.1f} ms", style="dim"))

    def event(self, record: dict[str, Any]) -> None:
        from rich.table import Table
        from rich.text import Text

        from rivetctl.output.render import dumps

        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
        table.add_column(style="dim", no_wrap=True)
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(style="bold magenta", no_wrap=True)
        table.add_column()
        table.add_row(
            time.strftime("%H:%M:%S", time.localtime(record["time"])),
            Text(record["actor"]),
            Text(record["event"]),
            Text(dumps(record["args"])),
        )
        self.console.print(table)

    def info(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(text, style="yellow"))

    def opened(self, label: str, actor_id: str | None, connection_id: str | None) -> None:
        self.info(f"connected to {label} (actor {actor_id})")

    def error(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(text, style="bold red"))

    def table(self, columns: list[str], rows: list[dict[str, Any]], title: str = "") -> None:
        from rich.table import Table
        from rich.text import Text

        from rivetctl.output.render import _cell

        table = Table(title=title or None)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*(Text(_cell(row.get(c))) for c in columns))
        self.console.print(table)

    def value(self, value: Any) -> None:
        from rich.json import JSON

        from rivetctl.output.render import dumps

        self.console.print(JSON(dumps(value)))


def toolbar_text(session: Session) -> str:
    """The bottom toolbar (pure function of the session; tested without a terminal)."""
    opts = session.client.options
    slot = session.slot
    if slot is None:
        actor, status, queued = "(none: .use NAME KEY)", "-", 0
    else:
        actor, status, queued = slot.label, session.status_text(slot), slot.conn.queued
    return (
        f" {opts.endpoint} · ns {opts.namespace} · {actor} · {status} · {opts.encoding}"
        f" · queued {queued} · {session.event_rate():.1f} ev/s "
    )


def make_history(path: Path) -> History:
    """A FileHistory that never stores lines carrying secrets (params, tokens)."""
    from prompt_toolkit.history import FileHistory

    class SecretFreeHistory(FileHistory):
        def store_string(self, string: str) -> None:
            # Secret lines stay recallable in this session (append_string keeps them in memory) but are
            # never written to the file.
            if not is_secret_line(string):
                super().store_string(string)

    return SecretFreeHistory(str(path))


def run_repl(settings: Settings, name: str | None, key: str | None, *, subscribe: list[str] | None = None) -> int:
    """The REPL on a terminal; an actor that cannot be reached is retried in the background."""
    from rivetctl.frontend.runner import run

    async def body(client: Client) -> int:
        return await _repl(settings, client, name, key, subscribe or [])

    return run(settings, body)


async def _repl(settings: Settings, client: Client, name: str | None, key: str | None, subscribe: list[str]) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout
    from rich.console import Console

    from rivetctl.repl.completion import make_completer
    from rivetctl.repl.session import Session

    hist_dir = state_dir(settings.env)
    hist_dir.mkdir(parents=True, exist_ok=True)
    with patch_stdout(raw=True):
        console = Console(force_terminal=True, color_system="auto" if settings.color else None, soft_wrap=True)
        printer = RichPrinter(console)
        session = Session(settings, client, printer, unreachable="retry")
        session.spawn(session.refresh_names())
        prompt: PromptSession[str] = PromptSession(
            history=make_history(hist_dir / "history"),
            completer=make_completer(session.sources),
            complete_while_typing=True,
            bottom_toolbar=lambda: toolbar_text(session),
            refresh_interval=0.5,
            enable_history_search=False,
        )
        try:
            if name is not None and key is not None:
                await _interruptible(session.use(name, key, subscribe=subscribe), printer, None)
            printer.info("type ACTION [ARG...] to call, .help for commands, Ctrl-D to quit")
            while True:
                label = session.current or "rivetctl"
                try:
                    text = await prompt.prompt_async(f"{label}> ")
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                if not await _interruptible(session.execute(text), printer, True):
                    break
        finally:
            await session.close()
    return 0


async def _interruptible(work: Awaitable[T], printer: RichPrinter, otherwise: T) -> T:
    """Run ``work`` as a task that Ctrl-C cancels (the REPL stays); its error is printed, not raised.
    Returns its result, or ``otherwise`` when it was cancelled or failed."""
    from rivetctl.frontend.exits import message

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        printer.info("cancelled")
        return otherwise
    except RivetctlError as exc:
        printer.error(message(exc))
        return otherwise
    finally:
        loop.remove_signal_handler(signal.SIGINT)
