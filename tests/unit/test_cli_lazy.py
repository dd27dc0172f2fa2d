"""The root command builds its sub-commands on first use, through click's ``list_commands`` / ``get_command``
hooks, and they are the commands typer would build from an app with every command registered: same names,
order, parameters and help texts. The CLI uses typer's public API only, and never pauses the collector."""

from __future__ import annotations

import inspect
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperCommand, TyperGroup

from rivetctl.cli.app import SETTINGS, app, main, root
from rivetctl.cli.commands import COMMANDS, Group, LazyGroup, register

PACKAGE = Path(__file__).resolve().parents[2] / "rivetctl"


def _eager_root() -> Any:
    """The root command as typer builds it when every command is registered on the app itself."""
    eager = typer.Typer(cls=Group, **SETTINGS)
    eager.callback()(root)
    register(eager)
    return typer.main.get_command(eager)


def _lazy_root() -> LazyGroup:
    lazy = typer.main.get_command(app)
    assert isinstance(lazy, LazyGroup)
    return lazy


def _context(cmd: Any, name: str = "rivetctl", parent: Any = None) -> typer.Context:
    return typer.Context(cmd, info_name=name, parent=parent, **cmd.context_settings)


def _walk(cmd: Any, ctx: typer.Context, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    yield path, cmd, ctx
    for name in cmd.list_commands(ctx) if isinstance(cmd, TyperGroup) else []:
        sub = cmd.get_command(ctx, name)
        yield from _walk(sub, _context(sub, name, ctx), (*path, name))


def _describe(cmd: Any, ctx: Any) -> dict[str, Any]:
    return {
        "type": type(cmd).__name__,
        "name": cmd.name,
        "help": ctx.command.get_help(ctx),
        "short": cmd.get_short_help_str(),
        "settings": dict(cmd.context_settings),
        "params": [
            (type(p).__name__, p.name, p.opts, p.secondary_opts, p.default, p.required, p.nargs, p.multiple)
            for p in cmd.get_params(ctx)
        ],
    }


def _tree(group: Any) -> dict[tuple[str, ...], dict[str, Any]]:
    tree = {path: _describe(cmd, ctx) for path, cmd, ctx in _walk(group, _context(group))}
    del tree[()]["type"]  # LazyGroup vs TyperGroup
    return tree


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the commands the root builds, in order."""
    names: list[str] = []
    real_build = LazyGroup._build

    def build(self: LazyGroup, ctx: Any, name: str, register_command: Any) -> Any:
        names.append(name)
        return real_build(self, ctx, name, register_command)

    monkeypatch.setattr(LazyGroup, "_build", build)
    return names


def test_lazy_root_matches_the_eagerly_built_one() -> None:
    lazy = _lazy_root()
    eager = _eager_root()
    assert type(eager) is Group
    assert lazy.list_commands(_context(lazy)) == eager.list_commands(_context(eager)) == list(COMMANDS)
    assert _tree(lazy) == _tree(eager)


def test_root_help_lists_every_command_in_order_without_building_any(built: list[str]) -> None:
    lazy = _lazy_root()
    help_text = lazy.get_help(_context(lazy))
    assert built == []
    eager = _eager_root()
    assert help_text == eager.get_help(_context(eager))
    listed = re.findall(r"^  (\S+)  ", help_text.split("\nCommands:\n", 1)[1], re.M)
    assert listed == list(COMMANDS)


def test_summaries_are_the_first_sentence_of_each_help() -> None:
    """What the listing shows for a command not built yet is what the built command would show, at any width."""
    lazy = _lazy_root()
    ctx = _context(lazy)
    for name, (_register, summary) in COMMANDS.items():
        cmd = lazy.get_command(ctx, name)
        assert cmd is not None and cmd.help and cmd.help.startswith(summary), name
        stand_in = TyperCommand(name=name, help=summary)
        for limit in range(20, 120):
            assert stand_in.get_short_help_str(limit) == cmd.get_short_help_str(limit), (name, limit)


def test_only_the_invoked_command_is_built(built: list[str]) -> None:
    assert main(["--help"], stdout=io.StringIO(), stderr=io.StringIO(), env={}) == 0
    assert main([], stdout=io.StringIO(), stderr=io.StringIO(), env={}) == 2  # no_args_is_help
    assert built == []
    assert main(["call", "--help"], stdout=io.StringIO(), stderr=io.StringIO(), env={}) == 0
    assert built == ["call"]
    built.clear()
    assert main(["config", "path"], stdout=io.StringIO(), stderr=io.StringIO(), env={}) == 0
    assert built == ["config"]


def test_a_command_is_built_once_per_root(built: list[str]) -> None:
    lazy = _lazy_root()
    ctx = _context(lazy)
    assert lazy.get_command(ctx, "get") is lazy.get_command(ctx, "get")
    assert built == ["get"]


def test_unknown_command_suggests_one_without_building_any(built: list[str]) -> None:
    err = io.StringIO()
    assert main(["cal", "x"], stdout=io.StringIO(), stderr=err, env={}) == 2
    assert "No such command 'cal'. Did you mean 'call'?" in err.getvalue()
    err = io.StringIO()
    assert main(["zzz"], stdout=io.StringIO(), stderr=err, env={}) == 2
    assert "No such command 'zzz'." in err.getvalue() and "Did you mean" not in err.getvalue()
    assert built == []
    lazy = _lazy_root()
    assert lazy.get_command(_context(lazy), "zzz") is None


def test_every_command_resolves_under_its_name() -> None:
    lazy = _lazy_root()
    ctx = _context(lazy)
    for name in COMMANDS:
        cmd = lazy.get_command(ctx, name)
        assert cmd is not None and cmd.name == name
    assert isinstance(lazy.get_command(ctx, "config"), TyperGroup)


def test_callbacks_carry_evaluated_annotations() -> None:
    """Typer reads these annotations on every run; as strings they would be evaluated each time."""
    callbacks = []
    lazy = _lazy_root()
    for path, cmd, _ctx in _walk(lazy, _context(lazy)):
        if cmd.callback is not None:
            callback = inspect.unwrap(cmd.callback)
            assert callback.__module__.startswith("rivetctl.cli."), path
            callbacks.append(callback)
    assert root in callbacks and len(callbacks) > len(COMMANDS)
    for callback in callbacks:
        strings = [n for n, a in inspect.get_annotations(callback).items() if isinstance(a, str)]
        assert not strings, f"{callback.__module__}.{callback.__qualname__}: {strings} are strings"


def _run_python(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[-1]


def _imported_after(*argv: str) -> set[str]:
    """The modules a run imports besides those ``import typer`` does."""
    code = (
        "import io, json, sys\n"
        "import typer\n"
        "before = set(sys.modules)\n"
        "from rivetctl.cli.app import main\n"
        f"main({list(argv)!r}, stdout=io.StringIO(), stderr=io.StringIO(), env={{}})\n"
        "sys.__stdout__.write(json.dumps(sorted(set(sys.modules) - before)) + '\\n')\n"
    )
    return set(json.loads(_run_python(code)))


def test_help_imports_no_command_module_nor_the_client_nor_asyncio() -> None:
    modules = _imported_after("--help")
    assert not {"asyncio", "rivetctl.client", "rivetctl.frontend.settings", "rivetctl.errors", "dataclasses"} & modules
    assert "rivetctl.cli.app" in modules
    assert {m for m in modules if m.startswith("rivetctl.cli.commands.")} == set()


def test_a_command_imports_only_its_own_module() -> None:
    modules = _imported_after("ping", "--help")
    assert {m for m in modules if m.startswith("rivetctl.cli.commands.")} == {"rivetctl.cli.commands.misc"}


def test_the_collector_stays_on() -> None:
    """No pause at start-up, nothing frozen: a command runs with the cyclic collector as Python sets it."""
    code = (
        "import gc, io, sys\n"
        "sys.argv = ['rivetctl', 'config', 'path']\n"
        "sys.stdout = io.StringIO()\n"
        "from rivetctl.cli import console_main\n"
        "try:\n"
        "    console_main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "sys.__stdout__.write(f'{gc.isenabled()} {gc.get_freeze_count()}\\n')\n"
    )
    assert _run_python(code) == "True 0"


PRIVATE = re.compile(
    r"typer\._click|typer\.models|get_command_from_info|get_group_from_info|solve_typer_info|"
    r"registered_commands|registered_groups|gc\.(disable|freeze|enable)\b"
)


def test_the_package_uses_typer_through_its_public_api_and_leaves_the_collector_alone() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not found, "\n".join(found)
