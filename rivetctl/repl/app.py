"""The terminal REPL: ``prompt_async`` under ``patch_stdout`` so events print above the line being typed;
bottom toolbar, completion, secret-free history, Ctrl-C cancels the running call, Ctrl-D leaves."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import TYPE_CHECKING, Any

from rivetctl.config import state_dir
from rivetctl.errors import RivetctlError
from rivetctl.repl.grammar import is_secret_line

if TYPE_CHECKING:
    from rich.console import Console

    from rivetctl.repl.session import Session


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
        actor, status, queued = slot.label, slot.conn.status, slot.conn.queued
        retry_at = getattr(slot.conn, "next_retry_at", None)
        if status != "connected" and isinstance(retry_at, float):
            status = f"reconnecting in {max(0.0, retry_at - time.monotonic()):.1f} s"
        elif status == "connecting":
            status = "reconnecting"
    return (
        f" {opts.endpoint} · ns {opts.namespace} · {actor} · {status} · {opts.encoding}"
        f" · queued {queued} · {session.event_rate():.1f} ev/s "
    )


def make_history(path: Any) -> Any:
    """A FileHistory that never stores lines carrying secrets (params, tokens)."""
    from prompt_toolkit.history import FileHistory

    class SecretFreeHistory(FileHistory):
        def store_string(self, string: str) -> None:
            # Secret lines stay recallable in this session (append_string keeps them in memory) but are
            # never written to the file.
            if not is_secret_line(string):
                super().store_string(string)

    return SecretFreeHistory(str(path))


def run_repl(cli: Any, name: str | None, key: str | None, *, subscribe: list[str] | None = None) -> int:
    from rivetctl.frontend.runner import run

    async def body(client: Any) -> int:
        return await _repl(cli, client, name, key, subscribe or [])

    return run(cli, body)


async def _repl(cli: Any, client: Any, name: str | None, key: str | None, subscribe: list[str]) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout
    from rich.console import Console

    from rivetctl.frontend.exits import message
    from rivetctl.repl.completion import make_completer
    from rivetctl.repl.session import Session

    hist_dir = state_dir(cli.env)
    hist_dir.mkdir(parents=True, exist_ok=True)
    with patch_stdout(raw=True):
        console = Console(force_terminal=True, color_system="auto" if cli.color else None, soft_wrap=True)
        printer = RichPrinter(console)
        session = Session(cli, client, printer)
        try:
            names = await client.actor_names()
            session.sources.actor_names.replace_all(names)
        except RivetctlError as exc:
            printer.error(f"cannot list actor names: {message(exc)}")
        prompt: PromptSession[str] = PromptSession(
            history=make_history(hist_dir / "history"),
            completer=make_completer(session.sources),  # type: ignore[arg-type]
            complete_while_typing=True,
            bottom_toolbar=lambda: toolbar_text(session),
            refresh_interval=0.5,
            enable_history_search=False,
        )
        if name is not None and key is not None:
            try:
                await session.use(name, key, subscribe=subscribe)
            except RivetctlError as exc:
                printer.error(message(exc))
        printer.info("type ACTION [ARG...] to call, .help for commands, Ctrl-D to quit")
        try:
            while True:
                label = session.current or "rivetctl"
                try:
                    text = await prompt.prompt_async(f"{label}> ")
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                if not await _run_line(session, text, printer):
                    break
        finally:
            await session.close()
    return 0


async def _run_line(session: Session, text: str, printer: RichPrinter) -> bool:
    """Run one line as a task that Ctrl-C cancels (the REPL stays)."""
    from rivetctl.frontend.exits import message

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(session.execute(text))
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        printer.info("cancelled")
        return True
    except RivetctlError as exc:
        printer.error(message(exc))
        return True
    finally:
        loop.remove_signal_handler(signal.SIGINT)
