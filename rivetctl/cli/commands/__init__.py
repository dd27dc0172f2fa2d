"""The root command's sub-commands, each in its own module, built on first use.

``COMMANDS`` names every sub-command, in the order ``rivetctl --help`` lists them, with the function that
registers it on a ``typer.Typer`` (the registrations of one module together). Typer turns a registration
into a click command by inspecting the function's signature and type hints, milliseconds per command;
:class:`LazyGroup`, the root command's class, does that only for the command that runs (importing only its
module), and lists the commands in its help from their help texts alone.

The command modules (and :mod:`rivetctl.cli.app`) leave out ``from __future__ import annotations``: typer
reads a command's annotations on every run, and annotations kept as strings would be evaluated anew each
time (twice per command), where evaluated ones are read as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from functools import cache
from gettext import gettext as _
from inspect import cleandoc, getdoc
from typing import Any

import typer
from typer._click import Command, Context, HelpFormatter
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info, solve_typer_info_defaults
from typer.models import CommandInfo, TyperInfo


def _call(app: typer.Typer) -> None:
    from rivetctl.cli.commands import call

    app.command("call", epilog=call.EPILOG, context_settings={"ignore_unknown_options": True})(call.call)


def _actors(app: typer.Typer) -> None:
    from rivetctl.cli.commands import actors

    app.command("get", epilog=actors.GET_EPILOG)(actors.get)
    app.command("create", epilog=actors.CREATE_EPILOG)(actors.create)
    app.command("destroy", epilog=actors.DESTROY_EPILOG)(actors.destroy)
    app.command("sleep", epilog=actors.SLEEP_EPILOG)(actors.sleep)
    app.command("actors", epilog=actors.ACTORS_EPILOG)(actors.actors)


def _inspect(app: typer.Typer) -> None:
    from rivetctl.cli.commands import inspect

    app.command("describe", epilog=inspect.DESCRIBE_EPILOG)(inspect.describe)
    app.command("inspect-id", epilog=inspect.INSPECT_EPILOG)(inspect.inspect_id)
    app.command("state", epilog=inspect.STATE_EPILOG)(inspect.state)


def _watch(app: typer.Typer) -> None:
    from rivetctl.cli.commands import watch

    app.command("watch", epilog=watch.EPILOG)(watch.watch)


def _connect(app: typer.Typer) -> None:
    from rivetctl.cli.commands import connect

    app.command("connect", epilog=connect.EPILOG)(connect.connect)
    app.command("repl", epilog=connect.REPL_EPILOG)(connect.repl)


def _misc(app: typer.Typer) -> None:
    from rivetctl.cli.commands import misc

    app.command("completions", epilog=misc.COMPLETIONS_EPILOG)(misc.completions)
    app.command("man", epilog=misc.MAN_EPILOG)(misc.man)
    app.command("dev-server", epilog=misc.DEV_SERVER_EPILOG)(misc.dev_server)
    app.command("ping", epilog=misc.PING_EPILOG)(misc.ping)


def _config(app: typer.Typer) -> None:
    from rivetctl.cli.commands import config_cmd

    app.add_typer(config_cmd.app, name="config")


COMMANDS: dict[str, Callable[[typer.Typer], None]] = {
    "call": _call,
    "get": _actors,
    "create": _actors,
    "destroy": _actors,
    "sleep": _actors,
    "actors": _actors,
    "describe": _inspect,
    "inspect-id": _inspect,
    "state": _inspect,
    "watch": _watch,
    "connect": _connect,
    "repl": _connect,
    "completions": _misc,
    "man": _misc,
    "dev-server": _misc,
    "ping": _misc,
    "config": _config,
}


def register(app: typer.Typer) -> None:
    """Register every command on ``app`` (typer then builds them all, as for any typer app)."""
    for register_module in dict.fromkeys(COMMANDS.values()):
        register_module(app)


@cache
def _registry(register_module: Callable[[typer.Typer], None]) -> typer.Typer:
    app = typer.Typer()
    register_module(app)
    return app


def registration(name: str) -> CommandInfo | TyperInfo:
    """How command ``name`` is registered: a ``CommandInfo``, or a ``TyperInfo`` for a group of commands."""
    registry = _registry(COMMANDS[name])
    for info in registry.registered_commands:
        if info.name == name:
            return info
    for group in registry.registered_groups:
        if group.name == name:
            return group
    raise LookupError(f"{COMMANDS[name].__name__} does not register {name!r}")  # pragma: no cover


class LazyCommands(MutableMapping[str, Command]):
    """Command name → click command, in ``COMMANDS`` order; a command is built on first access."""

    def __init__(self, group: LazyGroup) -> None:
        self._group = group
        self._names = list(COMMANDS)
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            self._built[name] = self._group.build(registration(name))
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def outline(self, name: str) -> Command:
        """The command, or until it is built a stand-in with its help texts only (for help listings)."""
        if name in self._built or name not in self._names:
            return self[name]
        info = registration(name)
        if isinstance(info, TyperInfo):
            solved = solve_typer_info_defaults(info)
            return TyperGroup(
                name=name,
                help=solved.help,
                short_help=solved.short_help,
                hidden=solved.hidden,
                deprecated=solved.deprecated,
            )
        return TyperCommand(
            name,
            help=getdoc(info.callback) if info.help is None else cleandoc(info.help),
            short_help=info.short_help,
            hidden=info.hidden,
            deprecated=info.deprecated,
        )


class LazyGroup(TyperGroup):
    """The root command: its sub-commands (``COMMANDS``) are built from their registrations on first use.

    Behaves as the group typer builds from an app with every command registered (``register``).
    """

    pretty_exceptions_short = True
    """As the root ``typer.Typer`` (typer's default); its commands' callbacks are built with it."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        commands = LazyCommands(self)
        commands.update(self.commands)
        self.commands = commands

    def build(self, info: CommandInfo | TyperInfo) -> Command:
        """A registered command or group as typer builds it for this group."""
        if isinstance(info, TyperInfo):
            return get_group_from_info(
                info,
                pretty_exceptions_short=self.pretty_exceptions_short,
                suggest_commands=self.suggest_commands,
                rich_markup_mode=self.rich_markup_mode,
            )
        return get_command_from_info(
            info, pretty_exceptions_short=self.pretty_exceptions_short, rich_markup_mode=self.rich_markup_mode
        )

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """As ``TyperGroup.format_commands``, without building the commands."""
        commands = self.commands
        outline = commands.outline if isinstance(commands, LazyCommands) else commands.__getitem__
        listed = [(name, cmd) for name in self.list_commands(ctx) if not (cmd := outline(name)).hidden]
        if listed:
            limit = formatter.width - 6 - max(len(name) for name, _cmd in listed)
            with formatter.section(_("Commands")):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in listed])
