"""Writes results in the chosen output mode: rich on a terminal, JSON / JSON lines / YAML / raw for pipes.

The mode is decided once (``auto`` → ``table`` on a TTY, ``json`` otherwise; streams use ``jsonl`` when not
a table). A ``--query`` (JMESPath) is applied to the JSON form of every result before it is written, in every
mode: to a value, to a record, to a list of rows as a whole, and to each streamed record. Diagnostics go to
stderr; server text is escaped before it reaches a terminal. Writing to a closed pipe raises
``BrokenPipeError`` in every mode (rich's console too, instead of its own exit), for the caller to end
quietly.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from rivetctl.output.jsonable import escape_control, jsonable

if TYPE_CHECKING:
    from rich.console import Console

    from rivetctl.frontend.query import Query

MODES = ("auto", "table", "json", "jsonl", "yaml", "raw")


def decide_mode(requested: str, stdout: IO[str]) -> str:
    if requested != "auto":
        return requested
    return "table" if is_terminal(stdout) else "json"


def is_terminal(stream: object) -> bool:
    """Whether ``stream`` is a terminal (``False`` for anything without a working ``isatty``)."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False, indent=indent)


class Output:
    """One writer per command run; ``query`` (``--query``) reshapes every result before it is written."""

    def __init__(
        self,
        mode: str,
        *,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        color: bool = True,
        query: Query | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.mode = decide_mode(mode, self.stdout)
        self.color = color
        self.query = query
        self._console: Console | None = None
        self._err_console: Console | None = None

    @property
    def is_table(self) -> bool:
        """Whether the caller should draw its own tables or trees. Not with a query: what the query selects is
        then written through :meth:`value`, :meth:`rows` or :meth:`stream`, from the same JSON as ``-o json``."""
        return self.mode == "table" and self.query is None

    @property
    def stream_mode(self) -> str:
        """How streamed records (events) are written: table rows, or one JSON object per line."""
        return "table" if self.mode == "table" else ("raw" if self.mode == "raw" else "jsonl")

    def console(self) -> Console:
        if self._console is None:
            self._console = _console_class()(
                file=self.stdout, no_color=not self.color, highlight=self.color, soft_wrap=True
            )
        return self._console

    def err_console(self) -> Console:
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(file=self.stderr, no_color=not self.color, highlight=False, soft_wrap=True)
        return self._err_console

    def _write(self, text: str) -> None:
        # A reader that went away raises BrokenPipeError here; ``rivetctl.cli.app.main`` ends the run quietly.
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _search(self, value: Any) -> Any:
        """What the query selects from ``value``'s JSON form, as a value again (``$``-tags revived), so that it
        prints as the JSON it was selected from."""
        assert self.query is not None
        return _revive(self.query.search(value))

    def value(self, value: Any) -> None:
        """One result value (an action's output)."""
        if self.query is not None:
            value = self._search(value)
        self._value(value)

    def _value(self, value: Any) -> None:
        if self.mode == "table":
            from rich.json import JSON

            if isinstance(value, str):
                from rich.text import Text

                self.console().print(Text(escape_control(value)))
            else:
                self.console().print(JSON(dumps(value), highlight=self.color))
        elif self.mode == "raw":
            self._write(value if isinstance(value, str) else dumps(value))
        elif self.mode == "yaml":
            self._write(_yaml(value))
        elif self.mode == "jsonl":
            self._write(dumps(value))
        else:
            self._write(dumps(value, indent=2))

    def record(self, data: dict[str, Any], *, title: str | None = None) -> None:
        """One object: a two-column table on a terminal."""
        if self.query is not None:
            shaped = self._search(data)
            if not isinstance(shaped, dict):
                self._value(shaped)
                return
            data = shaped
        if self.mode != "table":
            self._value(data)
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan" if self.color else "", no_wrap=True)
        table.add_column()
        for key, value in data.items():
            table.add_row(Text(key), Text(_cell(value)))
        self.console().print(table)

    def rows(self, columns: Sequence[str], rows: Sequence[dict[str, Any]], *, title: str | None = None) -> None:
        """A list of records: a table on a terminal, a JSON array, or JSON lines. A query applies to the list as
        a whole; a list of objects is still a table (its columns the objects' keys), anything else a value."""
        if self.query is not None:
            shaped = self._search(list(rows))
            if not isinstance(shaped, list):
                self._value(shaped)
                return
            if self.mode == "table" and not all(isinstance(row, dict) for row in shaped):
                self._value(shaped)
                return
            if self.mode == "raw":
                for item in shaped:
                    self._write(item if isinstance(item, str) else dumps(item))
                return
            rows = shaped
            columns = list(dict.fromkeys(col for row in shaped for col in row)) if self.mode == "table" else columns
        if self.mode == "table":
            from rich.table import Table
            from rich.text import Text

            table = Table(title=title, header_style="bold" if self.color else "")
            for col in columns:
                table.add_column(col)
            for row in rows:
                table.add_row(*(Text(_cell(row.get(col))) for col in columns))
            self.console().print(table)
        elif self.mode in ("jsonl", "raw"):
            for row in rows:
                self._write(dumps(row))
        else:
            self._value(list(rows))

    def stream(self, record: dict[str, Any], columns: Sequence[str] = ()) -> None:
        """One streamed record (an event), flushed at once. With a query, what it selects from the record: an
        object is a table row of its own keys on a terminal, anything else one line of JSON (``-o raw``:
        strings unquoted)."""
        if self.query is not None:
            shaped = self._search(record)
            if not isinstance(shaped, dict):
                if self.stream_mode == "raw" and isinstance(shaped, str):
                    self._write(shaped)
                elif self.stream_mode == "table":
                    from rich.text import Text

                    self.console().print(Text(_cell(shaped) if shaped is not None else "null"))
                else:
                    self._write(dumps(shaped))
                return
            record, columns = shaped, list(shaped)
        if self.stream_mode == "table":
            from rich.text import Text

            line = Text()
            for i, col in enumerate(columns):
                if i:
                    line.append("  ")
                text = _cell(record.get(col))
                style = ("dim", "bold magenta", "cyan", "")[min(i, 3)] if self.color else ""
                line.append(text, style=style)
            self.console().print(line)
        else:
            self._write(dumps(record))

    def info(self, message: str) -> None:
        """A diagnostic line on stderr."""
        self.stderr.write(escape_control(message) + "\n")
        self.stderr.flush()


_console_cls: type[Console] | None = None


def _console_class() -> type[Console]:
    """rich's ``Console``, except that a closed pipe raises ``BrokenPipeError`` (rich's default
    ``on_broken_pipe`` exits with status 1 on its own)."""
    global _console_cls
    if _console_cls is None:
        from rich.console import Console

        class PipeConsole(Console):
            def on_broken_pipe(self) -> None:
                self.quiet = True  # nothing more is written
                raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

        _console_cls = PipeConsole
    return _console_cls


def _revive(tree: Any) -> Any:
    """A JSON tree as the value it is the JSON form of (``["$Uint8Array", …]`` as bytes, ``["$$x", 1]`` as
    ``["$x", 1]``); a tree that does not revive is kept as it is."""
    from rivetctl.errors import RivetctlError
    from rivetctl.protocol.values import from_json_compat

    try:
        return from_json_compat(tree)
    except (RivetctlError, ValueError, TypeError):
        return tree


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return escape_control(value)
    return escape_control(dumps(value))


def _yaml(value: Any) -> str:
    import yaml

    return str(yaml.safe_dump(jsonable(value), allow_unicode=True, sort_keys=False, default_flow_style=False)).rstrip(
        "\n"
    )
