"""The ``rivetctl`` root command: global options, its sub-commands (built on use by
:class:`~rivetctl.cli.commands.LazyGroup`), and ``main()`` — the one place where exceptions become a one-line
message and a documented exit code."""

# Annotations are evaluated here (no `from __future__ import annotations`): see rivetctl.cli.commands.
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import IO, Annotated, Any

import typer
from typer.core import TyperGroup

from rivetctl import __version__
from rivetctl.cli.argv import command_options, hoist_global_options, option_table
from rivetctl.cli.choices import OutputMode, WireEncoding
from rivetctl.cli.commands import LazyGroup

HELP = """Explore and call RivetKit actors: stateless calls, live connections, event tails and a REPL.

Examples:

  rivetctl call counter my-counter increment 5

  rivetctl watch chatRoom general newMessage

  rivetctl -e http://default:TOKEN@127.0.0.1:6420 actors counter
"""

SETTINGS: dict[str, Any] = {
    "name": "rivetctl",
    "help": HELP,
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["-h", "--help"], "max_content_width": 100},
}
"""How the root ``typer.Typer`` is made, besides its group class."""

app = typer.Typer(cls=LazyGroup, **SETTINGS)


class Streams:
    """Injected I/O for in-process runs (tests); real streams otherwise. A plain class: ``rivetctl --help``
    does not import :mod:`dataclasses`."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.env = env
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rivetctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "-e",
            "--endpoint",
            metavar="URL",
            help="Engine endpoint, [http(s)://][NAMESPACE[:TOKEN]@]HOST[:PORT] "
            "[env: RIVET_ENGINE, then RIVET_ENDPOINT; default http://127.0.0.1:6420].",
            show_default=False,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "-n", "--namespace", metavar="NAMESPACE", help="Namespace [env: RIVET_NAMESPACE; default default]."
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", metavar="TOKEN", help="Engine token [env: RIVET_TOKEN]. Never printed.", show_default=False
        ),
    ] = None,
    encoding: Annotated[
        WireEncoding | None,
        typer.Option("--encoding", help="Wire encoding [env: RIVETCTL_ENCODING; default bare].", show_default=False),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", metavar="PROFILE", help="Config profile to use [env: RIVETCTL_PROFILE].")
    ] = None,
    output: Annotated[
        OutputMode,
        typer.Option("-o", "--output", help="Output format (auto: table on a terminal, else json)."),
    ] = OutputMode.AUTO,
    query: Annotated[
        str | None,
        typer.Option(
            "--query",
            metavar="JMESPATH",
            help="A JMESPath expression applied to the JSON result before it is printed, in every -o mode: to a"
            " value, a record, a whole list of rows, each record of a stream.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Seconds to wait for an answer (for watch and wait, overall)."
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", metavar="KEY=VALUE", help="Connection param KEY=VALUE (VALUE is JSON if it parses); repeatable."
        ),
    ] = None,
    params: Annotated[
        str | None,
        typer.Option("--params", metavar="JSON", help="Connection params as JSON or @file [env: RIVETCTL_PARAMS]."),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "-v",
            "--verbose",
            count=True,
            show_default=False,
            help="-v timing, -vv frames, -vvv raw bytes (secrets redacted).",
        ),
    ] = 0,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colours (also NO_COLOR set to a non-empty value).")
    ] = False,
    insecure: Annotated[bool, typer.Option("--insecure", help="Do not verify TLS certificates.")] = False,
    cacert: Annotated[
        str | None,
        typer.Option(
            "--cacert", metavar="PATH", help="CA bundle file, or directory of CA certificates, for TLS verification."
        ),
    ] = None,
    inspector_token: Annotated[
        str | None,
        typer.Option(
            "--inspector-token",
            metavar="TOKEN",
            help="Token for actor inspectors (state, connections, queue, sql, workflow) [env: RIVET_INSPECTOR_TOKEN;"
            " default: each actor's own]. Never printed.",
            show_default=False,
        ),
    ] = None,
    traceback: Annotated[bool, typer.Option("--traceback", help="Show Python tracebacks of internal errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    from rivetctl.frontend.settings import GlobalOptions, Settings

    if output == OutputMode.CSV and ctx.invoked_subcommand not in ("sql", None):
        # Refused before the command runs: a call or a write must not happen only to fail at printing.
        from rivetctl.errors import ConfigError

        raise ConfigError("-o csv is for the sql command only; use one of auto, table, json, jsonl, yaml, raw")
    streams = ctx.obj if isinstance(ctx.obj, Streams) else Streams()
    given = {name: (value.value if isinstance(value, StrEnum) else value) for name, value in ctx.params.items()}
    settings = Settings(
        GlobalOptions(given), env=streams.env, stdin=streams.stdin, stdout=streams.stdout, stderr=streams.stderr
    )
    if query is not None:
        if output == OutputMode.CSV:
            from rivetctl.errors import ConfigError

            raise ConfigError("--query applies to JSON results; use -o json, jsonl, yaml, raw or table with it")
        _ = settings.query  # compiled now: a bad expression is a usage error before anything is sent
    ctx.obj = settings


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the CLI; returns the exit code (the console script exits with it).

    Output to a pipe whose reader went away (``rivetctl watch … | head -1``, ``rivetctl actors | true``)
    ends the command quietly with exit 0, whichever command was writing: the reader has what it wanted.
    """
    err = stderr or sys.stderr
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)  # a LazyGroup
    args = hoist_global_options(
        list(sys.argv[1:] if argv is None else argv),
        option_table(root.params),
        lambda name: command_options(root.get_command(typer.Context(root), name)),
    )
    streams = Streams(env=env, stdin=stdin, stdout=stdout, stderr=stderr)
    show_tb = "--traceback" in args
    json_errors = _wants_json(args)
    try:
        try:
            return _invoke(root, args, streams)
        except BrokenPipeError:
            raise
        except Exception as exc:
            return _report(exc, err=err, stdout=stdout, show_tb=show_tb, json_errors=json_errors)
    except BrokenPipeError:  # from the command, or from writing the error document to a closed stdout
        if stdout is None:
            _silence_stdout()
        return 0


def _invoke(root: TyperGroup, args: list[str], streams: Streams) -> int:
    """Parse ``args`` and run the command (click's ``make_context`` and ``invoke``), so that every exception
    reaches :func:`main`: click's own ``main()`` turns a closed pipe into ``exit 1`` on its way out."""
    try:
        with root.make_context("rivetctl", args, obj=streams) as ctx:
            result: object = root.invoke(ctx)
        return int(result) if isinstance(result, int) else 0
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except (typer.Abort, KeyboardInterrupt, EOFError):
        from rivetctl.frontend.exits import Exit

        (streams.stderr or sys.stderr).write("rivetctl: interrupted\n")
        return int(Exit.INTERRUPTED)


def _report(exc: Exception, *, err: IO[str], stdout: IO[str] | None, show_tb: bool, json_errors: bool) -> int:
    """An exception as a one-line message on stderr (and ``{"error": …}`` on stdout for ``-o json``)."""
    from rivetctl.frontend import exits

    if _is_usage_error(exc):
        exc.show(file=err)  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", exits.Exit.USAGE))
    if show_tb:
        import traceback

        traceback.print_exception(exc, file=err)
    code = exits.exit_code(exc)
    err.write(f"rivetctl: {exits.message(exc)}\n")
    if json_errors:
        from rivetctl.output.render import dumps

        out = stdout or sys.stdout
        try:
            out.write(dumps(exits.error_document(exc)) + "\n")
            out.flush()
        except BrokenPipeError:  # the error still decides the exit code
            if stdout is None:
                _silence_stdout()
    return int(code)


def _is_usage_error(exc: Exception) -> bool:
    """Click's usage errors (typer vendors click; match by shape, not by private import path)."""
    return isinstance(exc, typer.BadParameter) or (
        type(exc).__module__.endswith("exceptions") and hasattr(exc, "show") and hasattr(exc, "exit_code")
    )


def _wants_json(args: list[str]) -> bool:
    for i, arg in enumerate(args):
        if arg in ("-o", "--output") and i + 1 < len(args):
            return args[i + 1] in ("json", "jsonl")
        if arg.startswith("--output=") or (arg.startswith("-o") and len(arg) > 2):
            return arg.split("=", 1)[-1].removeprefix("-o") in ("json", "jsonl")
    return False


def _silence_stdout() -> None:
    """Point the process's stdout at ``/dev/null``, so that the interpreter's final flush of what is still
    buffered does not fail again ("Exception ignored … BrokenPipeError"): Python's documentation, "Note on
    SIGPIPE"."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
