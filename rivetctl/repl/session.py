"""A REPL session: open connections (one per actor), the current actor, the event log and the transcript;
it runs a line as an action call or as one of the dot-commands of :mod:`rivetctl.repl.commands`. Output
goes through a ``Printer`` so the session runs the same with or without a terminal.

When the server cannot be reached, what the session does depends on where it runs (``unreachable``):

- ``"retry"`` (the REPL on a terminal): say so in one line and keep trying in the background; the prompt
  stays usable, calls wait for the connection, the toolbar counts down to the next attempt;
- ``"fail"`` (script mode): the first failed attempt to reach the server is the error of the line (or of
  the start-up, exit 7);
- ``"wait"`` (script mode with ``--wait``): say so, and keep trying until the connection opens.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rivetctl.errors import ConfigError, ConnectionLostError, NetworkError, RequestTimeoutError, RivetctlError
from rivetctl.repl.commands import COMMANDS, EndSession
from rivetctl.repl.completion import Sources
from rivetctl.repl.grammar import Call, Dot, Empty, Line, parse_line

if TYPE_CHECKING:
    from rivetctl.client import ActorHandle, Client
    from rivetctl.client.connection import ActorConnection, Status
    from rivetctl.client.inspector import Inspector
    from rivetctl.frontend.args import Address
    from rivetctl.frontend.settings import Settings

EVENT_LOG_SIZE = 1000
OPEN_LIMIT = 30.0
"""Seconds script mode waits for a connection to open when ``--timeout`` does not say (attempts that fail
for another reason than an unreachable server, e.g. an actor still starting, are retried meanwhile)."""
REPEAT_NOTE = 5.0
"""In script mode, a retry line that says the same as the last one is printed again after this many seconds
(the REPL on a terminal prints it only when the reason changes: its toolbar shows the countdown)."""

Unreachable = Literal["retry", "fail", "wait"]


class Printer(Protocol):
    """Where a session's output goes (the terminal's rich printer, or JSON lines)."""

    def result(self, action: str, value: Any, ms: float) -> None: ...

    def event(self, record: dict[str, Any]) -> None: ...

    def info(self, text: str) -> None: ...

    def opened(self, label: str, actor_id: str | None, connection_id: str | None) -> None: ...

    def error(self, text: str) -> None: ...

    def table(self, columns: list[str], rows: list[dict[str, Any]], title: str = "") -> None: ...

    def value(self, value: Any) -> None: ...


@dataclass(eq=False)
class ActorSlot:
    """One open connection and what the session knows about it."""

    label: str
    address: Address
    handle: ActorHandle
    conn: ActorConnection
    unsubscribers: dict[str, Callable[[], None]] = field(default_factory=dict)
    opened: bool = False
    """Connected at least once."""
    lost: bool = False
    """Was connected, and is not now."""
    failure: RivetctlError | None = None
    """Why the last attempt failed, while attempts fail."""
    retry_at: float | None = None
    """``time.monotonic()`` of the next attempt, while attempts fail."""
    retried: asyncio.Event = field(default_factory=asyncio.Event)
    """Set after every failed attempt that will be retried."""
    noted: str = ""
    noted_at: float = 0.0


def is_unreachable(error: RivetctlError) -> bool:
    """The server (or the proxy) could not be reached, as opposed to an actor between lives, which answers
    with a RivetKit code (in an error, or in the close reason of a socket closed before ``Init``)."""
    if isinstance(error, ConnectionLostError):
        from rivetctl.protocol.backoff import parse_close_reason

        return parse_close_reason(error.close_reason).full_code is None
    return isinstance(error, NetworkError)


def _seconds(delay: float) -> str:
    return f"{delay:.1f}" if delay < 10 else f"{delay:.0f}"


class Session:
    def __init__(
        self, settings: Settings, client: Client, printer: Printer, *, unreachable: Unreachable = "fail"
    ) -> None:
        self.settings = settings
        self.client = client
        self.printer = printer
        self.unreachable: Unreachable = unreachable
        self.params: Any = settings.params()
        self.slots: dict[str, ActorSlot] = {}
        self.current: str | None = None
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_SIZE)
        self.transcript: list[dict[str, Any]] = []
        self.sources = Sources()
        self._event_times: deque[float] = deque(maxlen=2000)
        self._background: set[asyncio.Future[None]] = set()
        self._names_pending = False

    # -- state for the toolbar and .status ------------------------------------------------------------

    @property
    def slot(self) -> ActorSlot | None:
        return self.slots.get(self.current) if self.current else None

    def need_slot(self) -> ActorSlot:
        if self.slot is None:
            raise ConfigError("no actor selected: .use NAME KEY")
        return self.slot

    def event_rate(self) -> float:
        now = time.monotonic()
        return sum(1 for t in self._event_times if now - t <= 5.0) / 5.0

    def status_text(self, slot: ActorSlot) -> str:
        """``connected``, ``connecting``, ``reconnecting``, ``unreachable, retrying in 1.5 s``, …"""
        status: Status = slot.conn.status
        if status == "idle" and slot.conn.error is not None:
            return "failed"  # a fatal error stopped it (.use opens it anew)
        if status in ("connected", "idle", "disposed"):
            return status
        if slot.retry_at is not None and slot.failure is not None:
            left = slot.retry_at - time.monotonic()
            why = "unreachable, " if is_unreachable(slot.failure) else ""
            return f"{why}retrying in {max(0.0, left):.1f} s" if left > 0 else f"{why}connecting"
        return "reconnecting" if slot.opened else "connecting"

    # -- connections ----------------------------------------------------------------------------------

    async def use(self, name: str, key: str, subscribe: list[str] | None = None) -> None:
        """Open a connection to the actor (or switch to the open one) and make it current.

        Returns once it is open, or (``unreachable="retry"``) once the first attempt failed and the next is
        scheduled. Raises the fatal error of the connection; in ``"fail"`` mode the error of the first
        failed attempt to reach the server; a ``RequestTimeoutError`` when it did not open in time.
        """
        from rivetctl.frontend.args import parse_address

        address = parse_address(name, key)
        label = address.describe().replace(" ", "/", 1)
        slot = self.slots.get(label)
        if slot is not None and slot.conn.error is not None:
            await self._drop(slot)  # stopped by a fatal error: try afresh
            slot = None
        if slot is None:
            slot = self._open(address, label)
            for event in subscribe or []:
                self._subscribe(slot, event)
            try:
                await self._settle(slot)
            except asyncio.CancelledError:
                if self.unreachable != "retry":
                    await self._drop(slot)
                    raise
                self._select(slot, key)  # on a terminal, Ctrl-C ends the wait; the connection keeps trying
                self.printer.info(f"{label}: still connecting in the background (.close stops it)")
                raise
            except BaseException:
                await self._drop(slot)
                raise
        else:
            for event in subscribe or []:
                self._subscribe(slot, event)
        self._select(slot, key)

    def _select(self, slot: ActorSlot, key: str) -> None:
        name = slot.address.name
        self.current = slot.label
        self.sources.current_actor = name
        self.sources.actor_names.add(name)
        self.sources.for_actor(self.sources.keys, name).add(key)

    def _open(self, address: Address, label: str) -> ActorSlot:
        from rivetctl.frontend.runner import handle_for

        handle = handle_for(self.client, address, params=self.params)
        conn = handle.connect(self.params)
        slot = ActorSlot(label, address, handle, conn)
        conn.on_status(lambda status: self._on_status(slot, status))
        conn.on_retry(lambda error, delay: self._on_retry(slot, error, delay))
        self.slots[label] = slot
        return slot

    async def _settle(self, slot: ActorSlot) -> None:
        """Wait for the new connection as the session's ``unreachable`` mode says (see :meth:`use`)."""
        conn = slot.conn
        timeout = self.settings.opts.timeout
        if self.unreachable == "wait":
            await conn.wait_open(timeout=timeout)
            return
        opening = asyncio.ensure_future(conn.wait_open(timeout=timeout or OPEN_LIMIT))
        try:
            while not opening.done():
                slot.retried.clear()
                retried = asyncio.ensure_future(slot.retried.wait())
                try:
                    await asyncio.wait({opening, retried}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    retried.cancel()
                if opening.done():
                    break
                if self.unreachable == "retry":
                    return  # the retry line is out; the connection keeps trying in the background
                if slot.failure is not None and is_unreachable(slot.failure):
                    raise slot.failure.with_traceback(None)
            try:
                opening.result()
            except RequestTimeoutError as exc:
                if self.unreachable != "retry" or conn.error is not None:
                    raise
                self.printer.info(f"{slot.label}: {exc}; still connecting in the background (.close stops it)")
        finally:
            opening.cancel()

    def _on_status(self, slot: ActorSlot, status: Status) -> None:
        if status == "connected":
            slot.failure = slot.retry_at = None
            if not slot.opened:
                slot.opened = True
                if slot.noted and self.unreachable == "wait":
                    self.printer.info(f"{slot.label}: connected")
                self.printer.opened(slot.label, slot.conn.actor_id, slot.conn.connection_id)
                self.spawn(self.refresh_actions(slot))
                if self._names_pending:
                    self.spawn(self.refresh_names())
            elif slot.lost:
                self.printer.info(f"{slot.label}: reconnected")
            slot.lost = False
            slot.noted = ""
        elif status == "disconnected":
            slot.lost = True
            self.printer.info(f"{slot.label}: connection lost, reconnecting… (calls are queued)")

    def _on_retry(self, slot: ActorSlot, error: RivetctlError, delay: float) -> None:
        slot.failure = error
        slot.retry_at = time.monotonic() + delay
        slot.retried.set()
        if self.unreachable == "fail" and not slot.opened and is_unreachable(error):
            return  # ``use`` raises it: one line, from whoever runs the session
        from rivetctl.frontend.exits import message

        text = message(error)
        now = time.monotonic()
        repeat = self.unreachable != "retry" and now - slot.noted_at >= REPEAT_NOTE
        if text == slot.noted and not repeat:
            return
        slot.noted, slot.noted_at = text, now
        then = "calls wait for the connection, .close stops trying" if self.unreachable == "retry" else "Ctrl-C to stop"
        self.printer.info(f"{slot.label}: {text}; retrying in {_seconds(delay)} s, {then}")

    async def _drop(self, slot: ActorSlot) -> None:
        if self.slots.get(slot.label) is slot:
            del self.slots[slot.label]
        if self.current == slot.label:
            self.current = None
        await slot.conn.dispose()

    async def close_current(self) -> None:
        """Dispose the current connection; no actor is current afterwards."""
        await self._drop(self.need_slot())

    async def reopen_all(self) -> None:
        """Open every connection anew (after the params or the encoding changed), subscriptions kept."""
        current = self.current
        old = list(self.slots.values())
        self.slots.clear()
        for slot in old:
            await slot.conn.dispose()
        failure: BaseException | None = None
        for slot in old:
            try:
                await self.use(slot.address.name, _key_text(slot.address), subscribe=list(slot.unsubscribers))
            except RivetctlError as exc:
                failure = failure or exc
        self.current = current if current in self.slots else None
        if failure is not None:
            raise failure

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background (cancelled when the session closes)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def refresh_names(self) -> None:
        """Learn the registry's actor names (for completion); tried again once a connection opens when the
        server could not be reached."""
        from rivetctl.frontend.exits import message

        self._names_pending = False
        try:
            names = await self.client.actor_names()
        except NetworkError:
            self._names_pending = True  # the connection's own line says why
            return
        except RivetctlError as exc:
            self.printer.error(f"cannot list actor names: {message(exc)}")
            return
        self.sources.actor_names.replace_all(names)

    async def refresh_actions(self, slot: ActorSlot) -> None:
        """Learn action names from the inspector (in the background; completion never waits for it)."""
        from rivetctl.client.inspector import Inspector

        try:
            actor_id = slot.conn.actor_id or await slot.handle.resolve()
            names = await Inspector(self.client, actor_id, name=slot.address.name).actions()
        except RivetctlError:
            return
        self.sources.for_actor(self.sources.actions, slot.address.name).replace_all(names)
        from rivetctl.config import cache_dir
        from rivetctl.frontend.store import write_completion_cache

        write_completion_cache(cache_dir(self.settings.env), actions={slot.address.name: names})

    async def inspector(self) -> Inspector:
        """The inspector of the current actor."""
        from rivetctl.client.inspector import Inspector

        slot = self.need_slot()
        actor_id = slot.conn.actor_id or await slot.handle.resolve()
        token, source = self.settings.inspector_token()
        return Inspector(self.client, actor_id, name=slot.address.name, token=token, token_source=source)

    def subscribe(self, event: str) -> None:
        self._subscribe(self.need_slot(), event)

    def _subscribe(self, slot: ActorSlot, event: str) -> None:
        if event in slot.unsubscribers:
            return
        label = slot.label

        def on_event(*args: Any) -> None:
            record = {"time": time.time(), "actor": label, "event": event, "args": list(args)}
            self.events.append(record)
            self._event_times.append(time.monotonic())
            self.transcript.append({"type": "event", **record})
            self.printer.event(record)

        slot.unsubscribers[event] = slot.conn.on(event, on_event)
        self.sources.for_actor(self.sources.events, slot.address.name).add(event)

    def unsubscribe(self, event: str) -> None:
        slot = self.need_slot()
        unsubscribe = slot.unsubscribers.pop(event, None)
        if unsubscribe is None:
            raise ConfigError(f"not subscribed to {event!r}")
        unsubscribe()

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        for slot in self.slots.values():
            await slot.conn.dispose()
        self.slots.clear()

    # -- lines ----------------------------------------------------------------------------------------

    async def execute(self, text: str) -> bool:
        """Run one line; returns False when the session should end."""
        line: Line = parse_line(text)
        if isinstance(line, Empty):
            return True
        if isinstance(line, Call):
            await self.call(line)
            return True
        assert isinstance(line, Dot)
        command = COMMANDS[line.name]
        command.check(line.words)
        try:
            await command.run(self, line)
        except EndSession:
            return False
        return True

    async def call(self, line: Call) -> None:
        slot = self.need_slot()
        if slot.conn.status != "connected":
            until = "it reconnects" if slot.opened else "the connection opens"
            self.printer.info(f"{slot.label} is {self.status_text(slot)}: the call waits until {until}")
        started = time.perf_counter()
        try:
            output = await slot.conn.action(line.action, *line.args)
        except RivetctlError as exc:
            self.transcript.append(
                {
                    "type": "error",
                    "actor": slot.label,
                    "action": line.action,
                    "args": list(line.args),
                    "error": str(exc),
                }
            )
            raise
        ms = (time.perf_counter() - started) * 1000
        self.sources.for_actor(self.sources.actions, slot.address.name).add(line.action)
        self.transcript.append(
            {
                "type": "result",
                "actor": slot.label,
                "action": line.action,
                "args": list(line.args),
                "output": output,
                "ms": ms,
            }
        )
        self.printer.result(line.action, output, ms)


def _key_text(address: Address) -> str:
    if address.actor_id is not None:
        return "@" + address.actor_id
    assert address.key is not None
    return address.key[0] if len(address.key) == 1 else json.dumps(address.key)
