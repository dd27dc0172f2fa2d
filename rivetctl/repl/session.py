"""A REPL session: open connections (one per actor), the current actor, the event log, the transcript and
the dot-commands. Output goes through a ``Printer`` so the session runs the same with or without a terminal."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rivetctl.errors import ConfigError, RivetctlError
from rivetctl.repl.completion import Sources
from rivetctl.repl.grammar import DOT_COMMANDS, Call, Dot, Empty, Line, parse_line

if TYPE_CHECKING:
    from rivetctl.client import ActorHandle, Client
    from rivetctl.client.connection import ActorConnection
    from rivetctl.frontend.args import Address

EVENT_LOG_SIZE = 1000


class Printer(Protocol):
    def result(self, action: str, value: Any, ms: float) -> None: ...

    def event(self, record: dict[str, Any]) -> None: ...

    def info(self, text: str) -> None: ...

    def opened(self, label: str, actor_id: str | None, connection_id: str | None) -> None: ...

    def error(self, text: str) -> None: ...

    def table(self, columns: list[str], rows: list[dict[str, Any]], title: str = "") -> None: ...

    def value(self, value: Any) -> None: ...


@dataclass
class ActorSlot:
    label: str
    address: Address
    handle: ActorHandle
    conn: ActorConnection
    unsubscribers: dict[str, Callable[[], None]] = field(default_factory=dict)


class Session:
    def __init__(self, cli: Any, client: Client, printer: Printer) -> None:
        self.cli = cli
        self.client = client
        self.printer = printer
        self.params: Any = cli.params()
        self.slots: dict[str, ActorSlot] = {}
        self.current: str | None = None
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_SIZE)
        self.transcript: list[dict[str, Any]] = []
        self.sources = Sources()
        self._event_times: deque[float] = deque(maxlen=2000)
        self._lost: set[str] = set()
        self._background: set[asyncio.Future[None]] = set()

    # -- state for the toolbar ------------------------------------------------------------------------

    @property
    def slot(self) -> ActorSlot | None:
        return self.slots.get(self.current) if self.current else None

    def event_rate(self) -> float:
        now = time.monotonic()
        return sum(1 for t in self._event_times if now - t <= 5.0) / 5.0

    # -- connections ----------------------------------------------------------------------------------

    async def use(self, name: str, key: str, subscribe: list[str] | None = None) -> None:
        from rivetctl.frontend.args import parse_address
        from rivetctl.frontend.runner import handle_for

        address = parse_address(name, key)
        label = address.describe().replace(" ", "/", 1)
        if label not in self.slots:
            handle = handle_for(self.client, address, params=self.params)
            conn = handle.connect(self.params)
            slot = ActorSlot(label, address, handle, conn)
            conn.on_status(lambda status, *_: self._on_status(label, status))
            self.slots[label] = slot
            await conn.wait_open(timeout=self.cli.opts.timeout or 30)
            self.printer.opened(label, conn.actor_id, conn.connection_id)
        self.current = label
        self.sources.current_actor = name
        self.sources.actor_names.add(name)
        self.sources.for_actor(self.sources.keys, name).add(key)
        for event in subscribe or []:
            self.subscribe(event)
        self._background.add(task := asyncio.ensure_future(self.refresh_actions()))
        task.add_done_callback(self._background.discard)

    def _on_status(self, label: str, status: str) -> None:
        if status == "disconnected":
            self._lost.add(label)
            self.printer.info(f"{label}: connection lost, reconnecting… (calls are queued)")
        elif status == "connected" and label in self._lost:
            self._lost.discard(label)
            self.printer.info(f"{label}: reconnected")

    async def refresh_actions(self) -> None:
        """Learn action names from the inspector (in the background; completion never waits for it)."""
        from rivetctl.client.inspector import Inspector

        slot = self.slot
        if slot is None:
            return
        try:
            actor_id = slot.conn.actor_id or await slot.handle.resolve()
            names = await Inspector(self.client, actor_id, name=slot.address.name).actions()
        except RivetctlError:
            return
        self.sources.for_actor(self.sources.actions, slot.address.name).replace_all(names)
        from rivetctl.config import cache_dir
        from rivetctl.frontend.store import write_completion_cache

        write_completion_cache(cache_dir(self.cli.env), actions={slot.address.name: names})

    def subscribe(self, event: str) -> None:
        slot = self._need_slot()
        if event in slot.unsubscribers:
            return
        label, actor = slot.label, slot.address.name

        def on_event(*args: Any) -> None:
            record = {"time": time.time(), "actor": label, "event": event, "args": list(args)}
            self.events.append(record)
            self._event_times.append(time.monotonic())
            self.transcript.append({"type": "event", **record})
            self.printer.event(record)

        slot.unsubscribers[event] = slot.conn.on(event, on_event)
        self.sources.for_actor(self.sources.events, actor).add(event)

    def unsubscribe(self, event: str) -> None:
        slot = self._need_slot()
        unsubscribe = slot.unsubscribers.pop(event, None)
        if unsubscribe is None:
            raise ConfigError(f"not subscribed to {event!r}")
        unsubscribe()

    def _need_slot(self) -> ActorSlot:
        if self.slot is None:
            raise ConfigError("no actor selected: .use NAME KEY")
        return self.slot

    async def close(self) -> None:
        for slot in self.slots.values():
            await slot.conn.dispose()
        self.slots.clear()

    # -- commands -------------------------------------------------------------------------------------

    async def execute(self, text: str) -> bool:
        """Run one line; returns False when the session should end."""
        line: Line = parse_line(text)
        if isinstance(line, Empty):
            return True
        if isinstance(line, Call):
            await self.call(line)
            return True
        assert isinstance(line, Dot)
        return await self.dot(line)

    async def call(self, line: Call) -> None:
        slot = self._need_slot()
        if slot.conn.status != "connected":
            self.printer.info(f"{slot.label} is {slot.conn.status}: the call is queued until it reconnects")
        started = time.perf_counter()
        try:
            output = await slot.conn.action(line.action, *line.args)
        except RivetctlError as exc:
            self.transcript.append({"type": "error", "action": line.action, "error": str(exc)})
            raise
        ms = (time.perf_counter() - started) * 1000
        self.sources.for_actor(self.sources.actions, slot.address.name).add(line.action)
        self.transcript.append(
            {"type": "result", "actor": slot.label, "action": line.action, "output": output, "ms": ms}
        )
        self.printer.result(line.action, output, ms)

    async def dot(self, line: Dot) -> bool:
        name, words = line.name, line.words
        if name == ".quit":
            return False
        if name == ".help":
            self.printer.table(
                ["command", "what"],
                [{"command": k, "what": v.split(" — ", 1)[-1]} for k, v in DOT_COMMANDS.items()],
            )
            self.printer.info("anything else: ACTION [ARG...] calls the action on the live connection")
        elif name == ".use":
            if len(words) != 2:
                raise ConfigError("usage: .use NAME KEY")
            await self.use(words[0], words[1])
        elif name in (".sub", ".unsub"):
            if not words:
                raise ConfigError(f"usage: {name} EVENT...")
            for event in words:
                (self.subscribe if name == ".sub" else self.unsubscribe)(event)
            self.printer.info(f"{'subscribed to' if name == '.sub' else 'unsubscribed from'} {', '.join(words)}")
        elif name == ".events":
            count = int(words[0]) if words and words[0].isdigit() else 20
            rows = [
                dict(r, time=time.strftime("%H:%M:%S", time.localtime(r["time"]))) for r in list(self.events)[-count:]
            ]
            self.printer.table(["time", "actor", "event", "args"], rows, title=f"last {len(rows)} events")
        elif name == ".state":
            from rivetctl.client.inspector import Inspector

            slot = self._need_slot()
            actor_id = slot.conn.actor_id or await slot.handle.resolve()
            self.printer.value(await Inspector(self.client, actor_id, name=slot.address.name).state())
        elif name == ".describe":
            await self._describe()
        elif name == ".params":
            await self._params(line.rest)
        elif name == ".encoding":
            await self._encoding(words)
        elif name == ".status":
            rows = [
                {
                    "actor": s.label,
                    "current": "*" if s.label == self.current else "",
                    "status": s.conn.status,
                    "queued": s.conn.queued,
                    "subscriptions": ", ".join(s.unsubscribers),
                }
                for s in self.slots.values()
            ]
            self.printer.table(["current", "actor", "status", "queued", "subscriptions"], rows)
        elif name == ".http":
            if not words:
                raise ConfigError("usage: .http ACTION [ARG...]")
            from rivetctl.frontend.args import parse_value

            slot = self._need_slot()
            started = time.perf_counter()
            output = await slot.handle.action(words[0], *[parse_value(w) for w in words[1:]])
            self.printer.result(words[0] + " (http)", output, (time.perf_counter() - started) * 1000)
        elif name == ".save":
            if len(words) != 1:
                raise ConfigError("usage: .save FILE")
            self._save(Path(words[0]).expanduser())
        return True

    async def _describe(self) -> None:
        from rivetctl.client.inspector import Inspector

        slot = self._need_slot()
        actor_id = slot.conn.actor_id or await slot.handle.resolve()
        summary = await Inspector(self.client, actor_id, name=slot.address.name).summary()
        self.sources.for_actor(self.sources.actions, slot.address.name).replace_all(summary.get("rpcs") or [])
        self.printer.value(
            {
                "actor": slot.label,
                "actor_id": actor_id,
                "actions": sorted(summary.get("rpcs") or []),
                "state": summary.get("state"),
                "connections": len(summary.get("connections") or []),
                "events_seen": self.sources.for_actor(self.sources.events, slot.address.name).items,
            }
        )

    async def _params(self, rest: str) -> None:
        if not rest:
            shown = (
                {k: "***" for k in self.params} if isinstance(self.params, dict) else ("***" if self.params else None)
            )
            self.printer.value({"params": shown})
            return
        from rivetctl.frontend.args import parse_json_option

        self.params = parse_json_option(rest, ".params")
        await self._reopen_all()
        self.printer.info("params set (values hidden); connections reopened")

    async def _encoding(self, words: list[str]) -> None:
        from dataclasses import replace

        from rivetctl.protocol.encoding import parse_encoding

        if len(words) != 1:
            raise ConfigError("usage: .encoding json|cbor|bare")
        enc = parse_encoding(words[0])
        self.client.options = replace(self.client.options, encoding=enc)
        await self._reopen_all()
        self.printer.info(f"encoding is now {enc}; connections reopened")

    async def _reopen_all(self) -> None:
        current = self.current
        old = list(self.slots.values())
        self.slots.clear()
        for slot in old:
            events = list(slot.unsubscribers)
            await slot.conn.dispose()
            await self.use(slot.address.name, _key_text(slot.address), subscribe=events)
        if current in self.slots:
            self.current = current

    def _save(self, path: Path) -> None:
        from rivetctl.output.render import dumps

        try:
            with path.open("w", encoding="utf-8") as fh:
                for record in self.transcript:
                    fh.write(dumps(record) + "\n")
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
        self.printer.info(f"saved {len(self.transcript)} records to {path}")


def _key_text(address: Address) -> str:
    if address.actor_id is not None:
        return "@" + address.actor_id
    assert address.key is not None
    return address.key[0] if len(address.key) == 1 else json.dumps(address.key)
