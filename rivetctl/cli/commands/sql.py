"""``rivetctl sql``: an actor's SQLite database through its inspector: one statement, the tables, their
columns, a page of rows; the SQL shell on a terminal; a script of statements from stdin."""

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rivetctl.cli.commands.params import Key, Name
from rivetctl.cli.context import cli_context
from rivetctl.frontend.runner import inspector_for, run
from rivetctl.output.render import is_terminal

if TYPE_CHECKING:
    from rivetctl.client import Client
    from rivetctl.client.inspector import Inspector
    from rivetctl.frontend.settings import Settings

EPILOG = """Examples:

  rivetctl sql notes my-notes "SELECT id, body FROM notes WHERE tag = ?" --arg greeting

  rivetctl sql notes my-notes "SELECT * FROM notes" -o csv > notes.csv

  rivetctl sql notes my-notes --tables

  rivetctl sql notes my-notes --schema notes

  rivetctl sql notes my-notes --rows notes --limit 20 --offset 40

  rivetctl sql notes my-notes "DELETE FROM notes WHERE id = ?" --arg 3 --write

  rivetctl sql notes my-notes

  printf 'SELECT count(*) AS n FROM notes;\\nSELECT max(id) AS last FROM notes;\\n' | rivetctl sql notes my-notes

A statement that is not read-only (INSERT, UPDATE, DELETE, REPLACE, CREATE, DROP, ALTER, ATTACH, a
transaction, VACUUM, a PRAGMA that sets or acts, a WITH ... DELETE) is refused without --write: exit 2,
nothing run. The guard reads SQLite's tokens, so a 'DELETE' in a string literal or a comment does not count.
One statement per run; the server returns rows only, so a write prints nothing unless it has a RETURNING
clause. Each --arg binds the next ? in order: JSON when it parses (5, true, null, "\\"5\\"" for the string
"5"), else a string; @file reads a JSON file, - reads stdin. SQLite binds numbers, strings, booleans (as 1 and
0) and null, not arrays or objects.

-o table, json (an array of row objects), jsonl (one row a line), yaml and csv (a header of the columns,
then a line per row; null empty; arrays and objects as JSON). --tables lists each table with its row and
column counts, --schema the columns of one table or of every table; the runtime's own _rivet_* tables only
with --all. A missing table exits 4, SQL that SQLite refuses exits 3.

Without a statement, on a terminal: the SQL shell. A statement ends with ; (Enter before it continues the
statement on a new line); Tab completes keywords, tables and columns; .tables, .schema [TABLE], .help,
.exit (or Ctrl-D). Each query shows its time. A write asks first ("Run it? [y/N]") unless --write was
given. History is kept in $XDG_STATE_HOME/rivetctl/sql_history, without lines that look secret
(token, secret, password).

Without a statement, with stdin not a terminal: a script. Statements end with ; (the last may omit it;
an empty script does nothing). If any statement writes and --write was not given, the whole script is
refused before anything runs (exit 2). Statements run in order; each row is printed as one JSON line. The
first statement that fails stops the script: an {"error": ..., "statement": N} line is printed and its exit
code returned (3 for an SQL error, 4 for a missing table); later statements are not run.

Global options (-e, -o, --timeout, ...) may also follow the command. After `--` nothing is an option (for
a statement that starts with --, a comment).
"""

_PAGE = 500
"""The most rows the inspector gives per page."""


def sql(
    ctx: typer.Context,
    name: Name,
    key: Key,
    statement: Annotated[
        str | None,
        typer.Argument(
            metavar="STATEMENT",
            help="One SQL statement (with --schema: a table name); without it, the SQL shell or a script from stdin.",
            show_default=False,
        ),
    ] = None,
    arg: Annotated[
        list[str] | None,
        typer.Option("--arg", metavar="VALUE", help="Bind VALUE to the next ? of STATEMENT; repeatable."),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Allow statements that change the database (the shell then asks no more).")
    ] = False,
    tables: Annotated[bool, typer.Option("--tables", help="List the tables with their row and column counts.")] = False,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the columns of the table named as STATEMENT, or of every table.")
    ] = False,
    rows: Annotated[str | None, typer.Option("--rows", metavar="TABLE", help="Print a page of TABLE's rows.")] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", min=0, help="--rows: how many rows [default: 100].")
    ] = None,
    offset: Annotated[
        int | None, typer.Option("--offset", metavar="M", min=0, help="--rows: rows to skip first [default: 0].")
    ] = None,
    all_tables: Annotated[
        bool, typer.Option("--all", help="--tables, --schema: include the runtime's own _rivet_* tables.")
    ] = False,
) -> None:
    """Query an actor's SQLite database: one statement, its tables, their columns or rows, or a SQL shell."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_address

    cli = cli_context(ctx)
    address = parse_address(name, key)
    mode = str(cli.opts.output or "auto")
    if sum((tables, schema, rows is not None)) > 1:
        raise ConfigError("use one of --tables, --schema and --rows")
    if statement is not None and (tables or rows is not None):
        raise ConfigError(f"{'--tables' if tables else '--rows'} takes no STATEMENT")
    if arg and (statement is None or schema):
        raise ConfigError("--arg binds a value to a STATEMENT's ?; give the statement too")
    if (limit is not None or offset is not None) and rows is None:
        raise ConfigError("--limit and --offset go with --rows TABLE")
    if all_tables and not (tables or (schema and statement is None)):
        raise ConfigError("--all goes with --tables or --schema (without a TABLE)")
    if write and (tables or schema or rows is not None):
        raise ConfigError("--write goes with a statement, the SQL shell or a script")

    if tables:
        _print_tables(cli, address, mode, all_tables)
    elif schema:
        _print_schema(cli, address, mode, statement, all_tables)
    elif rows is not None:
        _print_rows(cli, address, mode, rows, 100 if limit is None else limit, offset or 0)
    elif statement is not None:
        _run_statement(cli, address, mode, statement, list(arg or []), write)
    elif is_terminal(cli.stdin) and is_terminal(cli.stdout):
        if mode not in ("auto", "table"):
            raise ConfigError(f"the SQL shell prints tables; -o {mode} goes with a STATEMENT or a script on stdin")
        _shell(cli, address, f"{name} {key}", write)
    else:
        raise typer.Exit(_script(cli, address, mode, write))


# -- one statement ------------------------------------------------------------------------------------------


def _run_statement(cli: "Settings", address: Any, mode: str, text: str, raw_args: list[str], write: bool) -> None:
    from rivetctl.errors import ActorError, ConfigError
    from rivetctl.frontend.sql import Unterminated, explain_error, result_columns, statements_of, write_reason

    try:
        statements = statements_of(text)
    except Unterminated as exc:
        raise ConfigError(f"STATEMENT: {exc}") from None
    if not statements:
        raise ConfigError("STATEMENT holds no SQL statement")
    if len(statements) > 1:
        raise ConfigError(
            f"STATEMENT holds {len(statements)} statements; the database runs one at a time: give one, or pipe "
            "them on stdin to run them as a script (nothing was run)"
        )
    statement = statements[0]
    reason = write_reason(statement)
    if reason is not None and not write:
        raise ConfigError(f"{reason}: refused without --write (nothing was run)")
    values = _bindings(cli, raw_args)
    output = _Writer(cli, mode)

    async def body(client: "Client") -> tuple[list[dict[str, Any]], float]:
        inspector = await inspector_for(client, address, cli)
        started = time.perf_counter()
        try:
            result = await inspector.execute(statement, values)
        except ActorError as exc:
            raise explain_error(exc) from None
        return result, time.perf_counter() - started

    result, elapsed = run(cli, body)
    output.rows(result_columns(result), result, empty=None)
    if output.is_table:
        count = len(result)
        output.info(f"{count} row{'' if count == 1 else 's'} in {elapsed * 1000:.1f} ms")


def _bindings(cli: "Settings", raw_args: list[str]) -> list[Any]:
    """The ``--arg`` values: parsed as action arguments are, then limited to what SQLite binds."""
    from rivetctl.errors import ConfigError
    from rivetctl.frontend.args import parse_value
    from rivetctl.frontend.state_edit import check_plain_json

    if raw_args.count("-") > 1:
        raise ConfigError("'-' (read stdin) can be used for one --arg only")
    values = []
    for i, raw in enumerate(raw_args, 1):
        value = parse_value(raw, stdin=cli.stdin)
        check_plain_json(value, f"--arg {i}")
        if isinstance(value, dict | list):
            raise ConfigError(
                f"--arg {i}: SQLite binds numbers, strings, booleans and null, not JSON "
                f"{'objects' if isinstance(value, dict) else 'arrays'}; to bind JSON text, give it as a JSON string"
            )
        values.append(value)
    return values


# -- tables, schema, rows -----------------------------------------------------------------------------------


def _print_tables(cli: "Settings", address: Any, mode: str, internal: bool) -> None:
    from rivetctl.frontend.sql import is_internal, table_name, table_summaries

    output = _Writer(cli, mode)
    found = run(cli, lambda client: _tables(client, address, cli))
    summaries = table_summaries(found, internal=internal)
    output.rows(["name", "rows", "columns"], summaries, title=f"tables of {address.describe()}", empty="no tables")
    hidden = sum(1 for t in found if is_internal(table_name(t)))
    if output.is_table and hidden and not internal:
        output.info(f"{hidden} internal _rivet_* tables not shown (--all shows them)")


def _print_schema(cli: "Settings", address: Any, mode: str, table: str | None, internal: bool) -> None:
    from rivetctl.errors import ActorNotFoundError
    from rivetctl.frontend.sql import COLUMN_FIELDS, column_rows, find_table, is_internal, table_name

    output = _Writer(cli, mode)
    found = run(cli, lambda client: _tables(client, address, cli))
    if table is not None:
        entry = find_table(found, table)
        if entry is None:
            raise ActorNotFoundError("inspector", "table_not_found", f"no such table: {table}")
        output.rows(list(COLUMN_FIELDS), column_rows(entry), title=table_name(entry))
        return
    chosen = [t for t in found if internal or not is_internal(table_name(t))]
    if output.is_table:
        for entry in chosen:
            output.rows(list(COLUMN_FIELDS), column_rows(entry), title=table_name(entry))
        if not chosen:
            output.info("no tables (--all shows the runtime's _rivet_* tables)")
        return
    flat = [{"table": table_name(entry), **col} for entry in chosen for col in column_rows(entry)]
    output.rows(["table", *COLUMN_FIELDS], flat)


def _print_rows(cli: "Settings", address: Any, mode: str, table: str, limit: int, offset: int) -> None:
    from rivetctl.frontend.sql import result_columns

    output = _Writer(cli, mode)

    async def body(client: "Client") -> list[dict[str, Any]]:
        inspector = await inspector_for(client, address, cli)
        got: list[dict[str, Any]] = []
        while len(got) < limit:
            page_size = min(_PAGE, limit - len(got))
            page = await inspector.rows(table, limit=page_size, offset=offset + len(got))
            got.extend(page)
            if len(page) < page_size:
                break
        return got

    result = run(cli, body)
    output.rows(result_columns(result), result, title=table, empty=f"no rows in {table} from row {offset + 1} on")
    if output.is_table and result:
        output.info(f"rows {offset + 1}–{offset + len(result)} of {table}")


async def _tables(client: "Client", address: Any, cli: "Settings") -> list[dict[str, Any]]:
    return await (await inspector_for(client, address, cli)).tables()


# -- shell and script ---------------------------------------------------------------------------------------


def _shell(cli: "Settings", address: Any, label: str, write: bool) -> None:
    from rivetctl.config import state_dir
    from rivetctl.repl.sql_shell import sql_shell

    async def body(client: "Client") -> int:
        inspector = await inspector_for(client, address, cli)
        return await sql_shell(
            inspector, label=label, color=cli.color, history_path=state_dir(cli.env) / "sql_history", write=write
        )

    raise typer.Exit(run(cli, body))


def _script(cli: "Settings", address: Any, mode: str, write: bool) -> int:
    from rivetctl.errors import ConfigError
    from rivetctl.repl.sql_shell import check_script, sql_script

    if mode not in ("auto", "json", "jsonl"):
        raise ConfigError(f"a script on stdin prints JSON lines; -o {mode} goes with a STATEMENT")
    statements = check_script(cli.stdin.read(), write=write)

    async def body(client: "Client") -> int:
        inspector: Inspector = await inspector_for(client, address, cli)
        return await sql_script(inspector, statements, out=cli.stdout, err=cli.stderr)

    return run(cli, body)


# -- output -------------------------------------------------------------------------------------------------


class _Writer:
    """Rows in the run's output mode; ``-o csv`` (which only this command writes) with its own writer."""

    def __init__(self, cli: "Settings", mode: str) -> None:
        self._cli = cli
        self.csv = mode == "csv"

    @property
    def is_table(self) -> bool:
        return not self.csv and self._cli.output.is_table

    def rows(
        self,
        columns: list[str],
        rows: list[dict[str, Any]],
        *,
        title: str | None = None,
        empty: str | None = "no rows",
    ) -> None:
        """``rows`` under ``columns``; on a terminal, no rows are said as ``empty`` (on stderr) instead."""
        if self.csv:
            from rivetctl.frontend.sql import csv_text

            if columns:
                self._cli.stdout.write(csv_text(columns, rows))
                self._cli.stdout.flush()
        elif self.is_table and not rows:
            if empty is not None:
                self.info(empty)
        else:
            self._cli.output.rows(columns, rows, title=title)

    def info(self, message: str) -> None:
        from rivetctl.output.jsonable import escape_control

        self._cli.stderr.write(escape_control(message) + "\n")
        self._cli.stderr.flush()
