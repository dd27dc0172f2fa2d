"""The SQL shell on an actor's database (through its inspector), and the script mode that runs statements
read from a pipe.

The shell: multi-line input that runs when it ends with ``;`` (statements split as SQLite splits them),
completion of keywords, tables and columns (the schema is read once and again after a write), a history file
without secret-looking entries, rich tables with each query's time, and the write guard: a statement that
is not read-only asks before it runs (unless writes were allowed up front). Ctrl-C cancels the running
query (it is never sent again), Ctrl-D or ``.exit`` leaves.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Awaitable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from rivetctl.errors import ActorError, ConfigError, RivetctlError
from rivetctl.frontend.sql import (
    Unterminated,
    column_rows,
    explain_error,
    find_table,
    is_internal,
    result_columns,
    split_statements,
    statements_of,
    table_name,
    table_summaries,
    tokens,
    tokens_or_none,
    write_reason,
)

if TYPE_CHECKING:
    from prompt_toolkit.history import History
    from prompt_toolkit.key_binding import KeyBindings
    from rich.console import Console

    from rivetctl.client.inspector import Inspector

T = TypeVar("T")

KEYWORDS = tuple(
    """ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY
    CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT_DATE CURRENT_TIME
    CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT
    EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FOREIGN FROM FULL GLOB GROUP HAVING IF IGNORE IMMEDIATE IN INDEX INNER
    INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LEFT LIKE LIMIT MATCH NATURAL NO NOT NOTHING NOTNULL NULL
    NULLS OF OFFSET ON OR ORDER OUTER OVER PARTITION PLAN PRAGMA PRIMARY QUERY RECURSIVE REFERENCES REINDEX
    RELEASE RENAME REPLACE RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TO
    TRANSACTION TRIGGER UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT""".split()  # noqa: SIM905 - a list of words
)
FUNCTIONS = tuple(
    """abs avg coalesce count date datetime group_concat hex ifnull instr json json_array json_each json_extract
    json_group_array json_object length lower ltrim max min nullif printf quote random replace round rtrim
    strftime substr sum time total trim typeof unixepoch upper""".split()  # noqa: SIM905 - a list of words
)
_TABLE_CONTEXT = frozenset({"FROM", "JOIN", "INTO", "UPDATE", "TABLE"})

DOT_COMMANDS = {
    ".tables": "list the tables with their row and column counts (.tables --all: with the runtime's _rivet_* ones)",
    ".schema": "the columns of TABLE, or of every table (.schema [TABLE])",
    ".help": "this list",
    ".exit": "leave the shell (also .quit, Ctrl-D)",
}
_EXIT_WORDS = frozenset({".exit", ".quit", "exit", "quit", "\\q"})
_SECRET_WORDS = ("token", "secret", "password", "passwd", "apikey", "api_key", "credential", "bearer")


# -- schema and completion ----------------------------------------------------------------------------------


class Schema:
    """The database's tables as :meth:`Inspector.tables` lists them: what completion offers and ``.tables`` /
    ``.schema`` print."""

    def __init__(self, tables: Iterable[dict[str, Any]] = ()) -> None:
        self.tables: list[dict[str, Any]] = list(tables)

    def names(self, *, internal: bool = True) -> list[str]:
        return [n for n in (table_name(t) for t in self.tables) if internal or not is_internal(n)]

    def columns(self, table: str) -> list[str]:
        entry = find_table(self.tables, table)
        return [str(c["name"]) for c in column_rows(entry)] if entry is not None else []


class SqlCompleter(Completer):
    """Keywords, functions, tables and columns: only tables after FROM / JOIN / INTO / UPDATE / TABLE, the
    columns of ``t`` after ``t.`` (``t`` a table or its alias); the runtime's ``_rivet_*`` tables once the
    word starts with ``_``. Nothing inside a string or comment. Dot-commands (and table names after
    ``.schema``) at the start of the input."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        stripped = text.lstrip()
        if stripped.startswith("."):
            yield from self._dot(stripped)
            return
        try:
            before = tokens(text)
        except Unterminated:
            return  # inside a string, a quoted name or a comment
        match = re.search(r"(?:([A-Za-z_][\w$]*|\"(?:[^\"]|\"\")+\")\.)?([A-Za-z_][\w$]*)?$", text)
        qualifier, word = (match.group(1), match.group(2) or "") if match else (None, "")
        if qualifier is not None:
            table = _aliases(document.text).get(_unquote(qualifier).casefold(), _unquote(qualifier))
            yield from _matching(word, self.schema.columns(table), "column")
            return
        words = [t.text.upper() for t in before if t.kind == "word"]
        if word and words:
            words.pop()  # the word being typed
        previous = words[-1] if words else ""
        tables = self.schema.names(internal=word.startswith("_"))
        if previous in _TABLE_CONTEXT:
            yield from _matching(word, tables, "table")
            return
        if not word and not complete_event.completion_requested:
            return
        mentioned = {t.casefold() for t in _mentioned(document.text)}
        in_statement = [n for n in self.schema.names() if n.casefold() in mentioned]
        columns: dict[str, None] = {}
        for table in in_statement or self.schema.names(internal=False):
            columns.update(dict.fromkeys(self.schema.columns(table)))
        yield from _matching(word, list(columns), "column")
        yield from _matching(word, tables, "table")
        lower = word.islower()
        yield from _matching(word, [k.lower() if lower else k for k in KEYWORDS], "keyword", quote=False)
        yield from _matching(word, [f if lower or not word else f.upper() for f in FUNCTIONS], "function", quote=False)

    def _dot(self, text: str) -> Iterator[Completion]:
        head, _, rest = text.partition(" ")
        if not _:
            for name in (*DOT_COMMANDS, ".quit"):
                if name.startswith(head.lower()):
                    yield Completion(name, -len(head), display_meta=DOT_COMMANDS.get(name, "leave the shell"))
        elif head.lower() == ".schema" and " " not in rest.strip():
            word = rest.strip()
            yield from _matching(word, self.schema.names(internal=word.startswith("_")), "table")
        elif head.lower() == ".tables" and "--all".startswith(rest.strip()):
            yield Completion("--all", -len(rest.strip()))


def _matching(word: str, names: Iterable[str], meta: str, *, quote: bool = True) -> Iterator[Completion]:
    folded = word.casefold()
    for name in names:
        if name.casefold().startswith(folded) and name != word:
            yield Completion(_identifier(name) if quote else name, -len(word), display_meta=meta)


def _identifier(name: str) -> str:
    """``name`` as SQL: quoted when it is not a plain word or is a keyword."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name.upper() not in KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _unquote(name: str) -> str:
    if len(name) > 1 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name


def _names(text: str) -> list[tuple[str, str]]:
    """``(kind, name)`` of the words and quoted names of ``text`` (the readable part of it)."""
    toks = tokens_or_none(text)
    if toks is None:
        _, rest = split_statements(text)
        toks = tokens_or_none(text[: len(text) - len(rest)]) or []
    return [(t.kind, _unquote(t.text)) for t in toks if t.kind in ("word", "ident")]


def _mentioned(text: str) -> list[str]:
    return [name for _kind, name in _names(text)]


def _aliases(text: str) -> dict[str, str]:
    """``alias → table`` from ``FROM t a``, ``JOIN t AS a`` (casefolded aliases)."""
    names = _names(text)
    out: dict[str, str] = {}
    for i, (kind, name) in enumerate(names):
        if kind != "word" or name.upper() not in ("FROM", "JOIN") or i + 1 >= len(names):
            continue
        table = names[i + 1][1]
        j = i + 2
        if j < len(names) and names[j][1].upper() == "AS":
            j += 1
        if j < len(names) and (names[j][0] == "ident" or names[j][1].upper() not in KEYWORDS):
            out[names[j][1].casefold()] = table
    return out


# -- input ----------------------------------------------------------------------------------------------------


def input_ready(text: str) -> bool:
    """Whether Enter runs ``text`` (else it starts a new line): a dot-command, an exit word, nothing, or
    statements ending with ``;`` (not one inside a string, a comment or a trigger's body)."""
    stripped = text.strip()
    if not stripped or stripped.startswith(".") or stripped.lower() in _EXIT_WORDS:
        return True
    done, rest = split_statements(text)
    try:
        left = tokens(rest)
    except Unterminated:
        return False
    return bool(done) and not left


def is_secret_sql(text: str) -> bool:
    """Input that may carry a secret (a token, a password): kept out of the history file."""
    from rivetctl.repl.grammar import is_secret_line

    lowered = text.lower()
    return is_secret_line(text) or any(word in lowered for word in _SECRET_WORDS)


def make_sql_history(path: Path) -> History:
    """A FileHistory that never writes secret-looking input to the file (it stays recallable this session)."""
    from prompt_toolkit.history import FileHistory

    class SecretFreeHistory(FileHistory):
        def store_string(self, string: str) -> None:
            if not is_secret_sql(string):
                super().store_string(string)

    return SecretFreeHistory(str(path))


def _key_bindings() -> KeyBindings:
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None:
            if state.current_completion is not None:
                buffer.apply_completion(state.current_completion)
                return
            buffer.cancel_completion()
        if input_ready(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    return bindings


def _continuation(width: int, _line_number: int, _wrap_count: int) -> str:
    return "...> ".rjust(width)


# -- the shell ------------------------------------------------------------------------------------------------


async def sql_shell(
    inspector: Inspector,
    *,
    label: str,
    history_path: Path | None,
    color: bool = True,
    console: Console | None = None,
    write: bool = False,
) -> int:
    """The SQL shell on ``inspector``'s database until ``.exit`` or Ctrl-D; returns the exit status (0).

    ``label`` starts the prompt (``notes my-notes sql> ``); ``history_path`` is the history file (``None``:
    in memory only); ``console`` prints the results (a new one on the terminal when ``None``); ``write``
    runs writes without asking.
    """
    from prompt_toolkit import PromptSession
    from rich.console import Console

    if console is None:
        console = Console(force_terminal=True, color_system="auto" if color else None, highlight=False)
    shell = _Shell(inspector, console, color=color, write=write)
    history: History
    if history_path is not None:
        history_path.parent.mkdir(parents=True, exist_ok=True)
        history = make_sql_history(history_path)
    else:
        from prompt_toolkit.history import InMemoryHistory

        history = InMemoryHistory()
    prompt: PromptSession[str] = PromptSession(
        multiline=True,
        prompt_continuation=_continuation,
        key_bindings=_key_bindings(),
        completer=SqlCompleter(shell.schema),
        complete_while_typing=True,
        enable_history_search=False,
        history=history,
    )
    await shell.guarded(shell.load_schema())
    shell.note("statements end with ;  .help for commands, Ctrl-D to leave")
    while True:
        try:
            text = await prompt.prompt_async(f"{label} sql> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        if not await shell.run_input(text):
            break
    return 0


class _Shell:
    """What the shell does with each input."""

    def __init__(self, inspector: Inspector, console: Console, *, color: bool, write: bool) -> None:
        self.inspector = inspector
        self.console = console
        self.color = color
        self.write = write
        self.schema = Schema()

    # -- printing --

    def note(self, text: str, style: str = "dim") -> None:
        from rich.text import Text

        from rivetctl.output.jsonable import escape_control

        self.console.print(Text(escape_control(text), style=style if self.color else ""))

    def error(self, text: str) -> None:
        self.note(text, "bold red")

    def table(self, columns: list[str], rows: list[dict[str, Any]], title: str | None = None) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, header_style="bold" if self.color else "")
        for col in columns:
            table.add_column(_cell(col))
        for row in rows:
            table.add_row(
                *(
                    Text("NULL", style="dim" if self.color else "") if row.get(c) is None else Text(_cell(row.get(c)))
                    for c in columns
                )
            )
        self.console.print(table)

    # -- work --

    async def guarded(self, work: Awaitable[T]) -> T | None:
        """Run ``work`` as a task that Ctrl-C cancels; an error is printed. ``None`` when it did not finish."""
        from rivetctl.frontend.exits import message

        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(work)
        try:
            loop.add_signal_handler(signal.SIGINT, task.cancel)
            handled = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            handled = False
        try:
            return await task
        except asyncio.CancelledError:
            self.note("cancelled (a statement already sent may still run on the server; it is not sent again)")
            return None
        except ActorError as exc:
            self.error(message(explain_error(exc)))
            return None
        except RivetctlError as exc:
            self.error(message(exc))
            return None
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)

    async def load_schema(self) -> bool:
        self.schema.tables = await self.inspector.tables()
        return True

    async def run_input(self, text: str) -> bool:
        """Run one input (a dot-command or statements); ``False`` to leave the shell."""
        stripped = text.strip()
        if not stripped:
            return True
        if stripped.lower() in _EXIT_WORDS:
            return False
        if stripped.startswith("."):
            await self.dot(stripped)
            return True
        try:
            statements = statements_of(text)
        except Unterminated as exc:
            self.error(str(exc))
            return True
        for statement in statements:
            if not await self.statement(statement):
                break
        return True

    async def statement(self, sql: str) -> bool:
        """Run one statement (asking first if it writes); ``False`` when it did not run or failed."""
        reason = write_reason(sql)
        if reason is not None and not self.write:
            short = reason.removesuffix(" changes the database")
            if not await confirm(f"this statement changes the database ({short}). Run it? [y/N] "):
                self.note("not run")
                return False
        started = time.perf_counter()
        rows = await self.guarded(self.inspector.execute(sql))
        elapsed = time.perf_counter() - started
        if rows is None:
            return False
        if rows:
            self.table(result_columns(rows), rows)
        self.note(f"{len(rows)} row{'' if len(rows) == 1 else 's'} in {elapsed * 1000:.1f} ms")
        if reason is not None:
            await self.guarded(self.load_schema())  # tables or columns may have changed
        return True

    async def dot(self, text: str) -> None:
        head, _, rest = text.partition(" ")
        command, words = head.lower(), rest.split()
        if command == ".help":
            self.table(["command", "does"], [{"command": k, "does": v} for k, v in DOT_COMMANDS.items()])
            self.note("anything else is SQL, run when it ends with ;")
        elif command == ".tables":
            if words not in ([], ["--all"]):
                self.error("usage: .tables [--all]")
                return
            if await self.guarded(self.load_schema()) is None and not self.schema.tables:
                return
            internal = bool(words)
            self.table(["name", "rows", "columns"], table_summaries(self.schema.tables, internal=internal))
            hidden = len(self.schema.names()) - len(self.schema.names(internal=False))
            if hidden and not internal:
                self.note(f"{hidden} internal _rivet_* tables not shown (.tables --all)")
        elif command == ".schema":
            if len(words) > 1:
                self.error("usage: .schema [TABLE]")
                return
            await self.guarded(self.load_schema())
            if words:
                entry = find_table(self.schema.tables, _unquote(words[0]))
                if entry is None:
                    self.error(f"no such table: {words[0]}")
                    return
                chosen = [entry]
            else:
                chosen = [t for t in self.schema.tables if not is_internal(table_name(t))]
            for entry in chosen:
                self.table(["cid", "name", "type", "notnull", "default", "pk"], column_rows(entry), table_name(entry))
        else:
            self.error(f"unknown command {head}; try .help")


async def confirm(question: str) -> bool:
    from prompt_toolkit import PromptSession

    try:
        answer = await PromptSession[str]().prompt_async(question)
    except (KeyboardInterrupt, EOFError):
        return False
    return answer.strip().lower() in ("y", "yes")


def _cell(value: Any) -> str:
    from rivetctl.output.jsonable import escape_control
    from rivetctl.output.render import dumps

    return escape_control(value if isinstance(value, str) else dumps(value))


# -- script mode ----------------------------------------------------------------------------------------------


def check_script(text: str, *, write: bool) -> list[str]:
    """The statements of a script (none for an empty one), all checked before any runs: ``ConfigError`` for
    a script that ends inside a string or comment, or holds a write without ``write``."""
    try:
        statements = statements_of(text)
    except Unterminated as exc:
        raise ConfigError(f"the script on stdin: {exc} (nothing was run)") from None
    if not write:
        for i, statement in enumerate(statements, 1):
            reason = write_reason(statement)
            if reason is not None:
                raise ConfigError(f"statement {i}: {reason}: the script is refused without --write (nothing was run)")
    return statements


async def sql_script(inspector: Inspector, statements: list[str], *, out: IO[str], err: IO[str]) -> int:
    """Run ``statements`` in order, each row a JSON line on ``out``. The first that fails stops the script:
    an ``{"error": …, "statement": N}`` line, a message on ``err``, and its exit code is returned."""
    from rivetctl.frontend.exits import error_document, exit_code, message
    from rivetctl.output.render import dumps

    for i, statement in enumerate(statements, 1):
        try:
            rows = await inspector.execute(statement)
        except RivetctlError as exc:
            if isinstance(exc, ActorError):
                exc = explain_error(exc)
            out.write(dumps({**error_document(exc), "statement": i}) + "\n")
            out.flush()
            left = len(statements) - i
            err.write(f"rivetctl: statement {i}: {message(exc)}\n")
            if left:
                err.write(f"rivetctl: {left} later statement{'s' if left > 1 else ''} not run\n")
            err.flush()
            return int(exit_code(exc))
        for row in rows:
            out.write(dumps(row) + "\n")
        out.flush()
    return 0
