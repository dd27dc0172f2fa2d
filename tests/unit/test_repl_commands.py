"""The dot-command table (one table for dispatch, .help, completion and history) and the session's answer to
a server that cannot be reached (a closed loopback port: no server, nothing mocked)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from rivetctl.errors import ConfigError, NetworkError
from rivetctl.frontend.settings import GlobalOptions, Settings
from rivetctl.repl.commands import COMMANDS, CommandTable, DotCommand, Word
from rivetctl.repl.completion import Kind, Slot, Sources, make_completer, what_goes_here
from rivetctl.repl.grammar import Dot, is_secret_line, parse_line
from rivetctl.repl.script import JsonPrinter
from rivetctl.repl.session import Session, Unreachable
from tests.envs import private_home


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _noop(session: Session, line: Dot) -> None:
    return None


# -- the table ---------------------------------------------------------------------------------------------


def test_every_command_has_grammar_help_and_a_function() -> None:
    names = COMMANDS.names()
    assert names[:3] == [".use", ".close", ".sub"] and names[-2:] == [".help", ".quit"]
    for command in COMMANDS:
        assert command.name.startswith(".") and command.help and callable(command.run)
        assert command.usage.startswith(command.name)
    assert [c.name for c in COMMANDS if c.secret] == [".params"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("NAME KEY", (Word("NAME"), Word("KEY"))),
        ("EVENT...", (Word("EVENT", repeated=True),)),
        ("[N]", (Word("N", optional=True),)),
        ("ACTION [ARG...]", (Word("ACTION"), Word("ARG", optional=True, repeated=True))),
        ("json|cbor|bare", (Word("json|cbor|bare", choices=("json", "cbor", "bare")),)),
        ("", ()),
    ],
)
def test_argument_grammar(args: str, words: tuple[Word, ...]) -> None:
    assert DotCommand(".x", args, "x", _noop).words == words


@pytest.mark.parametrize("args", ["[A] B", "A... B"])
def test_malformed_grammar_refused_at_registration(args: str) -> None:
    with pytest.raises(ValueError):
        DotCommand(".x", args, "x", _noop)


def test_a_name_registers_once() -> None:
    table = CommandTable()
    table.command(".x", "", "x")(_noop)
    with pytest.raises(ValueError):
        table.command(".x", "", "again")(_noop)


@pytest.mark.parametrize(
    ("name", "words", "ok"),
    [
        (".use", ["counter", "k"], True),
        (".use", ["counter"], False),
        (".use", ["counter", "k", "extra"], False),
        (".sub", [], False),
        (".sub", ["a", "b", "c"], True),
        (".events", [], True),
        (".events", ["5"], True),
        (".events", ["5", "6"], False),
        (".encoding", ["CBOR"], True),
        (".encoding", ["xml"], False),
        (".http", [], False),
        (".http", ["echo", "1", "2"], True),
        (".conns", ["now"], False),
        (".params", ["{", '"a":', "1}"], True),  # raw: the function reads the text
    ],
)
def test_words_checked_against_grammar(name: str, words: list[str], ok: bool) -> None:
    if ok:
        COMMANDS[name].check(words)
    else:
        with pytest.raises(ConfigError, match=f"usage: {name}"):
            COMMANDS[name].check(words)


def test_grammar_history_and_completion_read_the_table() -> None:
    for command in COMMANDS:
        assert parse_line(command.name) == Dot(command.name, [], "")
        assert is_secret_line(f"{command.name} x") == command.secret
    with pytest.raises(ConfigError, match="unknown command"):
        parse_line(".nope")
    offered = Sources().candidates(Slot(Kind.COMMAND, ""))
    assert offered == COMMANDS.names()
    assert what_goes_here(".use ") == Slot(Kind.ACTOR_NAME, "")
    assert what_goes_here(".http ") == Slot(Kind.ACTION, "")
    assert what_goes_here(".http echo ") == Slot(Kind.NOTHING, "", ("echo",))


def test_completion_shows_each_commands_grammar_and_help() -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    completer = make_completer(Sources())
    shown = {c.text: c.display_meta_text for c in completer.get_completions(Document(".s"), CompleteEvent())}
    assert shown[".sub"] == "EVENT... — subscribe to events"
    assert shown[".state"].startswith("[set|patch|edit] [JSON] — the actor's state")


# -- sessions without a server -----------------------------------------------------------------------------


def _settings(tmp_path: Path, port: int, out: io.StringIO, err: io.StringIO) -> Settings:
    return Settings(
        GlobalOptions(endpoint=f"http://127.0.0.1:{port}", timeout=5.0),
        env=private_home(tmp_path),
        stdin=io.StringIO(),
        stdout=out,
        stderr=err,
    )


def _run(
    tmp_path: Path, body: Callable[[Session], Coroutine[Any, Any, None]], unreachable: Unreachable = "fail"
) -> tuple[list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    settings = _settings(tmp_path, closed_port(), out, err)

    async def go() -> None:
        async with settings.client() as client:
            session = Session(settings, client, JsonPrinter(out, err), unreachable=unreachable)
            try:
                await body(session)
            finally:
                await session.close()

    asyncio.run(go())
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_help_lists_the_table_and_quit_ends(tmp_path: Path) -> None:
    async def body(session: Session) -> None:
        assert await session.execute(".help")
        assert await session.execute("# a comment")
        assert not await session.execute(".quit")

    records, _ = _run(tmp_path, body)
    assert [row["command"] for row in records[0]["rows"]] == [c.usage for c in COMMANDS]


def test_usage_errors_and_no_actor(tmp_path: Path) -> None:
    async def body(session: Session) -> None:
        for line in (".use counter", ".events x", ".sub", ".encoding xml"):
            with pytest.raises(ConfigError, match="usage"):
                await session.execute(line)
        for line in ("getCount", ".state", ".close", ".sub newCount"):
            with pytest.raises(ConfigError, match="no actor selected"):
                await session.execute(line)

    _run(tmp_path, body)


def test_events_and_save(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"

    async def body(session: Session) -> None:
        session.transcript.append({"type": "result", "action": "x", "output": 1})
        await session.execute(".events 0")
        await session.execute(f".save {transcript}")
        with pytest.raises(ConfigError, match="cannot write"):
            await session.execute(f".save {tmp_path}/no/such/dir/t.jsonl")

    records, err = _run(tmp_path, body)
    assert records[0]["rows"] == [] and records[0]["title"] == "last 0 events"
    assert json.loads(transcript.read_text()) == {"type": "result", "action": "x", "output": 1}
    assert "saved 1 records" in err


def test_script_mode_fails_on_the_first_failed_attempt(tmp_path: Path) -> None:
    async def body(session: Session) -> None:
        with pytest.raises(NetworkError, match="connection refused"):
            await asyncio.wait_for(session.use("counter", "k"), 5)
        assert session.slots == {} and session.current is None

    records, err = _run(tmp_path, body, "fail")
    assert records == [] and err == ""  # the caller prints the one line


def test_terminal_mode_says_why_and_keeps_trying(tmp_path: Path) -> None:
    from rivetctl.repl.app import toolbar_text

    async def body(session: Session) -> None:
        await asyncio.wait_for(session.use("counter", "k", subscribe=["newCount"]), 5)
        slot = session.need_slot()
        assert slot.conn.status == "connecting" and not slot.opened
        assert list(slot.unsubscribers) == ["newCount"]  # sent when the connection opens
        assert re.fullmatch(r"unreachable, (retrying in [0-9.]+ s|connecting)", session.status_text(slot))
        assert 'counter/["k"] · unreachable, ' in toolbar_text(session)
        await session.execute(".status")
        await session.execute(".close")
        assert session.slots == {} and session.current is None

    records, err = _run(tmp_path, body, "retry")
    first = err.splitlines()[0]
    assert first.startswith('counter/["k"]: cannot connect to http://127.0.0.1:')
    assert "connection refused" in first and "; retrying in " in first and ".close stops trying" in first
    assert records[0]["rows"][0]["status"].startswith("unreachable")
    assert err.splitlines()[-1] == 'closed counter/["k"]'
