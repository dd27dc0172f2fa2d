"""The root command's sub-commands, each in its own module, built on first use.

``COMMANDS`` names every sub-command, in the order ``rivetctl --help`` lists them, with the function that
registers it on a ``typer.Typer``. Typer turns a registration into a click command by inspecting the
function's signature and type hints, milliseconds per command; :class:`LazyGroup`, the root command's class,
does that through click's ``list_commands`` / ``get_command`` hooks, only for the command asked for
(importing only its module): it registers the command on a throwaway ``typer.Typer`` and builds it with
``typer.main.get_command``, as typer builds any app.

The command modules (and :mod:`rivetctl.cli.app`) leave out ``from __future__ import annotations``: typer
reads a command's annotations on every run, and annotations kept as strings would be evaluated anew each
time (twice per command), where evaluated ones are read as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from difflib import get_close_matches
from gettext import gettext as _
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


def _call(app: typer.Typer) -> None:
    from rivetctl.cli.commands import call

    app.command("call", cls=call.FanOutCommand, epilog=call.EPILOG, context_settings={"ignore_unknown_options": True})(
        call.call
    )


def _get(app: typer.Typer) -> None:
    from rivetctl.cli.commands import actors

    app.command("get", cls=Command, epilog=actors.GET_EPILOG)(actors.get)


def _create(app: typer.Typer) -> None:
    from rivetctl.cli.commands import actors

    app.command("create", cls=Command, epilog=actors.CREATE_EPILOG)(actors.create)


def _destroy(app: typer.Typer) -> None:
    from rivetctl.cli.commands import actors

    app.command("destroy", cls=Command, epilog=actors.DESTROY_EPILOG)(actors.destroy)


def _sleep(app: typer.Typer) -> None:
    from rivetctl.cli.commands import actors

    app.command("sleep", cls=Command, epilog=actors.SLEEP_EPILOG)(actors.sleep)


def _actors(app: typer.Typer) -> None:
    from rivetctl.cli.commands import actors

    app.command("actors", cls=Command, epilog=actors.ACTORS_EPILOG)(actors.actors)


def _describe(app: typer.Typer) -> None:
    from rivetctl.cli.commands import inspect

    app.command("describe", cls=Command, epilog=inspect.DESCRIBE_EPILOG)(inspect.describe)


def _inspect_id(app: typer.Typer) -> None:
    from rivetctl.cli.commands import inspect

    app.command("inspect-id", cls=Command, epilog=inspect.INSPECT_EPILOG)(inspect.inspect_id)


def _state(app: typer.Typer) -> None:
    from rivetctl.cli.commands import inspect

    app.command("state", cls=Command, epilog=inspect.STATE_EPILOG)(inspect.state)


def _connections(app: typer.Typer) -> None:
    from rivetctl.cli.commands import runtime

    app.command("connections", cls=Command, epilog=runtime.CONNECTIONS_EPILOG)(runtime.connections)


def _queue(app: typer.Typer) -> None:
    from rivetctl.cli.commands import runtime

    app.command("queue", cls=Command, epilog=runtime.QUEUE_EPILOG)(runtime.queue)


def _sql(app: typer.Typer) -> None:
    from rivetctl.cli.commands import sql

    app.command("sql", cls=Command, epilog=sql.EPILOG)(sql.sql)


def _workflow(app: typer.Typer) -> None:
    from rivetctl.cli.commands import workflow

    app.command("workflow", cls=Command, epilog=workflow.WORKFLOW_EPILOG)(workflow.workflow)


def _traces(app: typer.Typer) -> None:
    from rivetctl.cli.commands import workflow

    app.command("traces", cls=Command, epilog=workflow.TRACES_EPILOG)(workflow.traces)


def _watch(app: typer.Typer) -> None:
    from rivetctl.cli.commands import call, watch

    app.command("watch", cls=call.FanOutCommand, epilog=watch.EPILOG)(watch.watch)


def _wait(app: typer.Typer) -> None:
    from rivetctl.cli.commands import wait

    app.command("wait", cls=Command, epilog=wait.EPILOG)(wait.wait)


def _connect(app: typer.Typer) -> None:
    from rivetctl.cli.commands import connect

    app.command("connect", cls=Command, epilog=connect.EPILOG)(connect.connect)


def _repl(app: typer.Typer) -> None:
    from rivetctl.cli.commands import connect

    app.command("repl", cls=Command, epilog=connect.REPL_EPILOG)(connect.repl)


def _replay(app: typer.Typer) -> None:
    from rivetctl.cli.commands import replay

    app.command("replay", cls=Command, epilog=replay.EPILOG)(replay.replay)


def _completions(app: typer.Typer) -> None:
    from rivetctl.cli.commands import misc

    app.command("completions", cls=Command, epilog=misc.COMPLETIONS_EPILOG)(misc.completions)


def _man(app: typer.Typer) -> None:
    from rivetctl.cli.commands import misc

    app.command("man", cls=Command, epilog=misc.MAN_EPILOG)(misc.man)


def _dev_server(app: typer.Typer) -> None:
    from rivetctl.cli.commands import misc

    app.command("dev-server", cls=Command, epilog=misc.DEV_SERVER_EPILOG)(misc.dev_server)


def _ping(app: typer.Typer) -> None:
    from rivetctl.cli.commands import misc

    app.command("ping", cls=Command, epilog=misc.PING_EPILOG)(misc.ping)


def _config(app: typer.Typer) -> None:
    from rivetctl.cli.commands import config_cmd

    app.add_typer(config_cmd.app, name="config")


COMMANDS: dict[str, tuple[Callable[[typer.Typer], None], str]] = {
    "call": (_call, "Call an action statelessly over HTTP and print its output."),
    "get": (_get, "Show an actor if it exists: id, key, status and timestamps."),
    "create": (_create, "Create a new actor; fails if one with that key exists."),
    "destroy": (_destroy, "Destroy an actor (its state is deleted)."),
    "sleep": (_sleep, "Put an actor to sleep now (it wakes on the next request)."),
    "actors": (_actors, "List the registry's actor names, or the actors of one name (newest first)."),
    "describe": (_describe, "Describe an actor: record, actions, state summary and known events."),
    "inspect-id": (
        _inspect_id,
        "Decode an actor id, look it up (name, key, status, times) and show its inspector data.",
    ),
    "state": (_state, "Print an actor's state, or replace, patch or edit it (through its inspector)."),
    "connections": (_connections, "List an actor's live connections: id, params, connection state, hibernatable."),
    "queue": (_queue, "List an actor's queue (size, limit, messages), send a message to it, or clear it."),
    "sql": (
        _sql,
        "Query an actor's SQLite database: one statement, its tables, their columns or rows, or a SQL shell.",
    ),
    "workflow": (_workflow, "Show an actor's workflow history as a tree; follow it, or replay it from an entry."),
    "traces": (_traces, "Show an actor's trace spans (OpenTelemetry) as a waterfall."),
    "watch": (_watch, "Stream an actor's events (and state changes) as table rows or JSON lines."),
    "wait": (_wait, "Wait until a JMESPath condition on an actor's state (or an event's args) holds; print its value."),
    "connect": (_connect, "Open a live connection to an actor (REPL on a terminal, JSON lines when scripted)."),
    "repl": (_repl, "The interactive REPL (script mode when stdin is not a terminal)."),
    "replay": (
        _replay,
        "Re-run the calls of a saved REPL session in order and compare each output with the recorded one.",
    ),
    "completions": (_completions, "Print the shell completion script."),
    "man": (_man, "Print the man page (roff)."),
    "dev-server": (_dev_server, "Run the bundled example actor server (real RivetKit) until Ctrl-C."),
    "ping": (_ping, "Check the endpoint: health, what server it is (runtime, version, mode), round-trip time."),
    "config": (_config, "Manage connection profiles (like kubectl contexts)."),
}
"""Command name → (the function that registers it, the first sentence of its help: what ``rivetctl --help``
lists, so that listing the commands builds none of them)."""


def write_text_keeping_examples(formatter: Any, text: str) -> None:
    """Write help text: prose paragraphs re-wrapped to the terminal, indented ones (examples, tables) kept
    line for line so that a command can be pasted as printed."""
    for paragraph in text.strip("\n").split("\n\n"):
        lines = paragraph.strip("\n").splitlines()
        if lines and all(line.startswith("  ") for line in lines):
            for line in lines:
                formatter.write(f"{'':>{formatter.current_indent}}{line}\n")
        else:
            formatter.write_text(paragraph)
        formatter.write_paragraph()


class Command(TyperCommand):
    """A sub-command whose usage line names its arguments as the help lists them (``NAME KEY [ARG]...``)
    and whose examples are printed as written."""

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        if self.epilog:
            formatter.write_paragraph()
            with formatter.indentation():
                write_text_keeping_examples(formatter, self.epilog)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                continue
            name = param.metavar or (param.name or "").upper()
            name = name.removesuffix("...")
            pieces.append(name if param.required else f"[{name}]")
            if param.nargs != 1:
                pieces[-1] += "..."
        return pieces


def register(app: typer.Typer) -> None:
    """Register every command on ``app`` (typer then builds them all, as for any typer app)."""
    for register_command, _summary in COMMANDS.values():
        register_command(app)


class Group(TyperGroup):
    """The root command's class as typer would build it, its help's examples printed as written."""

    def format_help_text(self, ctx: Any, formatter: Any) -> None:
        if self.help:
            formatter.write_paragraph()
            with formatter.indentation():
                write_text_keeping_examples(formatter, self.help)


class LazyGroup(Group):
    """The root command: its sub-commands (``COMMANDS``) are listed by name and built on first use.

    Behaves as the group typer builds from an app with every command registered (:func:`register`). The
    hooks' click types (``Context``, ``HelpFormatter``, ``Command``) are importable only from typer's private
    copy of click, hence ``Any`` in their signatures.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._built: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if cmd_name not in self._built:
            self._built[cmd_name] = self._build(ctx, cmd_name, COMMANDS[cmd_name][0])
        return self._built[cmd_name]

    def _build(self, ctx: Any, name: str, register_command: Callable[[typer.Typer], None]) -> Any:
        """The command as typer builds it: registered alone on an app with this group's settings."""
        app = typer.Typer(
            add_completion=False, rich_markup_mode=self.rich_markup_mode, suggest_commands=self.suggest_commands
        )
        register_command(app)
        built = typer.main.get_command(app)
        if built.name == name:
            return built
        # A sub-app (``config``): typer builds the app around it as a group, whose one command it is.
        assert isinstance(built, TyperGroup)
        return built.get_command(ctx, name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """As typer's, with a command not built yet listed from its summary in ``COMMANDS``."""
        listed = []
        for name in self.list_commands(ctx):
            cmd = (
                TyperCommand(name=name, help=COMMANDS[name][1])
                if name in COMMANDS and name not in self._built
                else self.get_command(ctx, name)
            )
            if cmd is not None and not cmd.hidden:
                listed.append((name, cmd))
        if listed:
            limit = formatter.width - 6 - max(len(name) for name, _cmd in listed)
            with formatter.section(_("Commands")):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in listed])

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As click's, and an unknown command name suggests the closest ones (as typer does for the commands
        it holds)."""
        name = args[0] if args else ""
        if (
            self.suggest_commands
            and name
            and not name.startswith("-")
            and not ctx.resilient_parsing
            and self.get_command(ctx, name) is None
        ):
            matches = get_close_matches(name, self.list_commands(ctx))
            if matches:
                ctx.fail(f"No such command {name!r}. Did you mean {', '.join(repr(m) for m in matches)}?")
        return super().resolve_command(ctx, args)
