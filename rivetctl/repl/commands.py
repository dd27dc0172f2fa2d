"""The REPL's dot-commands: one table of name, argument grammar, one-line help and the function that runs it.

Each command is registered where it is written::

    @command(".sub", "EVENT...", "subscribe to events")
    async def _sub(session: Session, line: Dot) -> None: ...

and everything else reads the table: the line grammar accepts only its names, ``.help`` lists it, the
completer learns from each command's argument grammar what goes in every position (``NAME`` an actor name,
``KEY`` one of its keys, ``EVENT`` an event, ``ACTION`` an action, ``a|b|c`` one of those words), the
history leaves out the lines of commands marked secret, and the session checks the number of words against
the grammar before calling the function, so a function never sees a malformed line.

Argument grammar: words separated by spaces; ``[WORD]`` is optional (only at the end), ``WORD...`` takes one
or more (only last), ``a|b|c`` is a choice. A ``raw`` command gets the text after its name unsplit (JSON with
spaces) and checks it itself.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rivetctl.errors import ConfigError
from rivetctl.output.render import is_terminal

if TYPE_CHECKING:
    from rivetctl.repl.grammar import Dot
    from rivetctl.repl.session import Session

Handler = Callable[["Session", "Dot"], Awaitable[None]]


class EndSession(Exception):
    """Raised by ``.quit``: the session ends after this line."""


@dataclass(frozen=True)
class Word:
    """One word of a command's argument grammar."""

    metavar: str
    """``NAME``, ``EVENT``, …; for a choice, the choices as written (``json|cbor|bare``)."""
    optional: bool = False
    repeated: bool = False
    choices: tuple[str, ...] = ()

    @classmethod
    def parse(cls, token: str) -> Word:
        optional = token.startswith("[") and token.endswith("]")
        inner = token[1:-1] if optional else token
        repeated = inner.endswith("...")
        inner = inner.removesuffix("...")
        choices = tuple(inner.split("|")) if "|" in inner else ()
        return cls(inner, optional, repeated, choices)


@dataclass(frozen=True)
class DotCommand:
    name: str
    args: str
    help: str
    run: Handler
    raw: bool = False
    """The function reads ``line.rest`` (the unsplit text) and checks it itself."""
    secret: bool = False
    """Its lines may carry secrets: never written to the history file."""
    words: tuple[Word, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        words = tuple(Word.parse(t) for t in self.args.split())
        for i, word in enumerate(words):
            later = words[i + 1 :]
            if word.repeated and later:
                raise ValueError(f"{self.name}: only the last word may repeat")
            if word.optional and any(not w.optional for w in later):
                raise ValueError(f"{self.name}: optional words come last")
        object.__setattr__(self, "words", words)

    @property
    def usage(self) -> str:
        return f"{self.name} {self.args}".rstrip()

    def word_at(self, index: int) -> Word | None:
        """The grammar word for argument ``index`` (0 = the first word after the name), or ``None``."""
        if index < len(self.words):
            return self.words[index]
        if self.words and self.words[-1].repeated:
            return self.words[-1]
        return None

    def check(self, words: list[str]) -> None:
        """Raise ``ConfigError("usage: …")`` unless ``words`` fit the grammar (raw commands: not checked)."""
        if self.raw:
            return
        required = sum(not w.optional for w in self.words)
        unbounded = bool(self.words) and self.words[-1].repeated
        fits = len(words) >= required and (unbounded or len(words) <= len(self.words))
        for i, text in enumerate(words):
            word = self.word_at(i)
            if word is not None and word.choices and text.lower() not in word.choices:
                fits = False
        if not fits:
            raise ConfigError(f"usage: {self.usage}")


class CommandTable:
    """Dot-commands by name, in the order they were registered (the order ``.help`` lists them)."""

    def __init__(self) -> None:
        self._commands: dict[str, DotCommand] = {}

    def command(
        self, name: str, args: str, help: str, *, raw: bool = False, secret: bool = False
    ) -> Callable[[Handler], Handler]:
        """Register the decorated function as the dot-command ``name``."""

        def register(run: Handler) -> Handler:
            if name in self._commands:
                raise ValueError(f"dot-command {name} registered twice")
            self._commands[name] = DotCommand(name, args, help, run, raw=raw, secret=secret)
            return run

        return register

    def __contains__(self, name: object) -> bool:
        return name in self._commands

    def __getitem__(self, name: str) -> DotCommand:
        return self._commands[name]

    def get(self, name: str) -> DotCommand | None:
        return self._commands.get(name)

    def __iter__(self) -> Iterator[DotCommand]:
        return iter(self._commands.values())

    def names(self) -> list[str]:
        return list(self._commands)


COMMANDS = CommandTable()
command = COMMANDS.command


# -- connections -------------------------------------------------------------------------------------------


@command(".use", "NAME KEY", "open (or switch to) a connection to another actor")
async def _use(session: Session, line: Dot) -> None:
    await session.use(line.words[0], line.words[1])


@command(".close", "", "close the current connection (it stops reconnecting)")
async def _close(session: Session, line: Dot) -> None:
    label = session.need_slot().label
    await session.close_current()
    session.printer.info(f"closed {label}")


@command(".sub", "EVENT...", "subscribe to events")
async def _sub(session: Session, line: Dot) -> None:
    for event in line.words:
        session.subscribe(event)
    session.printer.info(f"subscribed to {', '.join(line.words)}")


@command(".unsub", "EVENT...", "unsubscribe")
async def _unsub(session: Session, line: Dot) -> None:
    for event in line.words:
        session.unsubscribe(event)
    session.printer.info(f"unsubscribed from {', '.join(line.words)}")


@command(".events", "[N]", "the last N events received (default 20)")
async def _events(session: Session, line: Dot) -> None:
    if line.words and not line.words[0].isdigit():
        raise ConfigError("usage: .events [N] (N a whole number)")
    count = int(line.words[0]) if line.words else 20
    rows = [
        dict(r, time=time.strftime("%H:%M:%S", time.localtime(r["time"])))
        for r in (list(session.events)[-count:] if count else [])
    ]
    session.printer.table(["time", "actor", "event", "args"], rows, title=f"last {len(rows)} events")


# -- the actor ---------------------------------------------------------------------------------------------


@command(
    ".state",
    "[set|patch|edit] [JSON]",
    "the actor's state; set JSON replaces it, patch JSON merges (RFC 7396), edit opens $EDITOR",
    raw=True,
)
async def _state(session: Session, line: Dot) -> None:
    from rivetctl.frontend import state_edit

    verb, _, text = line.rest.strip().partition(" ")
    inspector = await session.inspector()
    if not verb:
        session.printer.value(await inspector.state())
    elif verb in ("set", "patch"):
        if not text.strip():
            raise ConfigError(f"usage: .state {verb} JSON")
        value = state_edit.parse_plain_json(text, f".state {verb}")
        if verb == "set":
            session.printer.value(await state_edit.replace_state(inspector, value))
        else:
            session.printer.value(await state_edit.patch_state(inspector, value))
    elif verb == "edit" and not text.strip():
        if not is_terminal(session.settings.stdin):
            raise ConfigError(".state edit needs a terminal (use .state set JSON in scripts)")
        slot = session.need_slot()
        outcome = await state_edit.edit_state(
            inspector,
            label=slot.label,
            env=session.settings.env,
            run_editor=state_edit.run_editor_on_terminal,
            ask_reopen=None,
        )
        if not outcome.changed:
            session.printer.info("no change; nothing written")
        session.printer.value(outcome.state)
    else:
        raise ConfigError("usage: .state [set JSON | patch JSON | edit]")


@command(
    ".sql",
    "[STATEMENT]",
    "one SQL statement on the actor's database (a write asks first); alone: a SQL prompt until .exit",
    raw=True,
)
async def _sql(session: Session, line: Dot) -> None:
    from rivetctl.frontend.sql import result_columns, write_reason

    text = line.rest.strip()
    interactive = is_terminal(session.settings.stdin)
    inspector = await session.inspector()
    if not text:
        if not interactive:
            raise ConfigError(".sql needs a statement when stdin is not a terminal (or use rivetctl sql)")
        from rivetctl.config import state_dir
        from rivetctl.repl.sql_shell import sql_shell

        await sql_shell(
            inspector,
            label=session.need_slot().label,
            history_path=state_dir(session.settings.env) / "sql_history",
            color=session.settings.color,
            console=getattr(session.printer, "console", None),
        )
        return
    reason = write_reason(text)
    if reason is not None:
        if not interactive:
            raise ConfigError(f"refused: {reason}; in scripts, writes go through rivetctl sql --write")
        from rivetctl.repl.sql_shell import confirm

        if not await confirm(f"this statement changes the database ({reason}). Run it? [y/N] "):
            session.printer.info("not run")
            return
    started = time.perf_counter()
    rows = await inspector.execute(text.rstrip().rstrip(";"), [])
    ms = (time.perf_counter() - started) * 1000
    session.printer.table(result_columns(rows), rows, title=f"{len(rows)} row{'s' * (len(rows) != 1)} in {ms:.1f} ms")


@command(".workflow", "", "the actor's workflow history as a tree (its state on top)")
async def _workflow(session: Session, line: Dot) -> None:
    from rivetctl.client.workflow_history import decode
    from rivetctl.errors import ActorNotFoundError

    slot = session.need_slot()
    history = decode(await (await session.inspector()).workflow())
    if not history.enabled:
        raise ActorNotFoundError("workflow", "not_enabled", f"{slot.label} has no workflow")
    console = getattr(session.printer, "console", None)
    if console is None:  # script mode: the decoded history as a value
        session.printer.value(history.to_json())
        return
    from rivetctl.output.workflow_tree import workflow_tree

    console.print(
        workflow_tree(history, title=slot.label, color=session.settings.color, now_ms=int(time.time() * 1000)),
        soft_wrap=False,
    )


@command(".conns", "", "the actor's live connections (secret-looking params redacted)")
async def _conns(session: Session, line: Dot) -> None:
    from rivetctl.frontend.inspecting import connection_rows

    inspector = await session.inspector()
    rows = connection_rows(await inspector.connections(), show_secrets=False)
    session.printer.table(["id", "params", "state", "hibernatable"], rows, title="connections")


@command(
    ".queue", "[send|clear] [QUEUE] [BODY]", "the actor's queue; send QUEUE BODY enqueues, clear empties it", raw=True
)
async def _queue(session: Session, line: Dot) -> None:
    from rivetctl.frontend.args import parse_value
    from rivetctl.frontend.state_edit import check_plain_json

    verb, _, rest = line.rest.strip().partition(" ")
    inspector = await session.inspector()
    if verb == "send":
        queue, _, body_text = rest.strip().partition(" ")
        if not queue or not body_text.strip():
            raise ConfigError("usage: .queue send QUEUE BODY")
        body = parse_value(body_text.strip())
        check_plain_json(body, ".queue send")
        sent = await inspector.queue_send(queue, body)
        session.printer.info(f"sent message {sent.get('id')} to queue {queue!r}")
    elif verb == "clear" and not rest.strip():
        await inspector.queue_clear()
        session.printer.info("queue cleared")
    elif verb:
        raise ConfigError("usage: .queue [send QUEUE BODY | clear]")
    data = await inspector.queue()
    messages = [m for m in data.get("messages") or [] if isinstance(m, dict)]
    session.printer.table(
        ["id", "name", "createdAtMs"], messages, title=f"queue: {data.get('size')} of at most {data.get('maxSize')}"
    )


@command(".describe", "", "actions, state summary and known events")
async def _describe(session: Session, line: Dot) -> None:
    slot = session.need_slot()
    inspector = await session.inspector()
    summary = await inspector.summary()
    actions = summary.get("rpcs") or []
    session.sources.for_actor(session.sources.actions, slot.address.name).replace_all(actions)
    session.printer.value(
        {
            "actor": slot.label,
            "actor_id": inspector.actor_id,
            "actions": sorted(actions),
            "state": summary.get("state"),
            "connections": len(summary.get("connections") or []),
            "events_seen": session.sources.for_actor(session.sources.events, slot.address.name).items,
        }
    )


@command(".http", "ACTION [ARG...]", "stateless call over HTTP")
async def _http(session: Session, line: Dot) -> None:
    from rivetctl.frontend.args import parse_value

    slot = session.need_slot()
    action, *args = line.words
    started = time.perf_counter()
    output = await slot.handle.action(action, *[parse_value(w) for w in args])
    session.printer.result(action + " (http)", output, (time.perf_counter() - started) * 1000)


# -- settings ----------------------------------------------------------------------------------------------


@command(".params", "[JSON]", "show connection params (redacted) or set them (reconnects)", raw=True, secret=True)
async def _params(session: Session, line: Dot) -> None:
    if not line.rest:
        params = session.params
        shown = {k: "***" for k in params} if isinstance(params, dict) else ("***" if params else None)
        session.printer.value({"params": shown})
        return
    from rivetctl.frontend.args import parse_json_option

    session.params = parse_json_option(line.rest, ".params")
    await session.reopen_all()
    session.printer.info("params set (values hidden); connections reopened")


@command(".encoding", "json|cbor|bare", "switch encoding (reconnects)")
async def _encoding(session: Session, line: Dot) -> None:
    from dataclasses import replace

    from rivetctl.protocol.encoding import parse_encoding

    encoding = parse_encoding(line.words[0].lower())
    session.client.options = replace(session.client.options, encoding=encoding)
    await session.reopen_all()
    session.printer.info(f"encoding is now {encoding}; connections reopened")


# -- the session -------------------------------------------------------------------------------------------


@command(".status", "", "connection status of every open actor")
async def _status(session: Session, line: Dot) -> None:
    rows = [
        {
            "actor": slot.label,
            "current": "*" if slot.label == session.current else "",
            "status": session.status_text(slot),
            "queued": slot.conn.queued,
            "subscriptions": ", ".join(slot.unsubscribers),
        }
        for slot in session.slots.values()
    ]
    session.printer.table(["current", "actor", "status", "queued", "subscriptions"], rows)


@command(".save", "FILE", "write the session transcript as JSON lines")
async def _save(session: Session, line: Dot) -> None:
    from rivetctl.output.render import dumps

    path = Path(line.words[0]).expanduser()
    try:
        with path.open("w", encoding="utf-8") as fh:
            for record in session.transcript:
                fh.write(dumps(record) + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    session.printer.info(f"saved {len(session.transcript)} records to {path}")


@command(".help", "", "this list")
async def _help(session: Session, line: Dot) -> None:
    session.printer.table(["command", "what"], [{"command": c.usage, "what": c.help} for c in COMMANDS])
    session.printer.info("anything else: ACTION [ARG...] calls the action on the live connection")


@command(".quit", "", "dispose every connection and leave (also Ctrl-D)")
async def _quit(session: Session, line: Dot) -> None:
    raise EndSession
