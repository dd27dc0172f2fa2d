"""The root command builds its sub-commands on first use, and they are the commands typer would build from
an app with every command registered: same names, order, parameters and help texts."""

from __future__ import annotations

import copy
import inspect
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer._click import Context
from typer.core import TyperGroup

from rivetctl.cli.app import app, main, root
from rivetctl.cli.commands import COMMANDS, LazyCommands, LazyGroup, register, registration


def _eager_root() -> Any:
    """The root command as typer builds it when every command is registered on the app itself."""
    eager = copy.copy(app)
    eager.info = copy.copy(app.info)
    eager.info.cls = TyperGroup
    eager.registered_commands = []
    eager.registered_groups = []
    register(eager)
    return typer.main.get_command(eager)


def _walk(cmd: Any, ctx: Context, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, Context]]:
    yield path, cmd, ctx
    for name in cmd.list_commands(ctx) if hasattr(cmd, "list_commands") else []:
        sub = cmd.get_command(ctx, name)
        yield from _walk(sub, Context(sub, info_name=name, parent=ctx, **sub.context_settings), (*path, name))


def _describe(cmd: Any, ctx: Context) -> dict[str, Any]:
    return {
        "type": type(cmd).__name__,
        "help": ctx.command.get_help(ctx),
        "short": cmd.get_short_help_str(),
        "settings": dict(cmd.context_settings),
        "params": [
            (type(p).__name__, p.name, p.opts, p.secondary_opts, p.default, p.required, p.nargs, repr(p.type))
            for p in cmd.get_params(ctx)
        ],
    }


def _tree(group: Any) -> dict[tuple[str, ...], dict[str, Any]]:
    ctx = Context(group, info_name="rivetctl", **group.context_settings)
    tree = {path: _describe(cmd, ctx) for path, cmd, ctx in _walk(group, ctx)}
    del tree[()]["type"]  # LazyGroup vs TyperGroup
    return tree


def test_lazy_root_matches_the_eagerly_built_one() -> None:
    lazy = typer.main.get_command(app)
    eager = _eager_root()
    assert isinstance(lazy, LazyGroup) and type(eager) is TyperGroup
    assert list(lazy.commands) == list(eager.commands) == list(COMMANDS)
    assert _tree(lazy) == _tree(eager)


def test_root_help_lists_commands_without_building_them() -> None:
    lazy = typer.main.get_command(app)
    ctx = Context(lazy, info_name="rivetctl", **lazy.context_settings)
    help_text = lazy.get_help(ctx)
    assert isinstance(lazy.commands, LazyCommands)
    assert not lazy.commands._built
    eager = _eager_root()
    assert help_text == eager.get_help(Context(eager, info_name="rivetctl", **eager.context_settings))


def test_only_the_invoked_command_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real_build = LazyGroup.build

    def build(self: LazyGroup, info: Any) -> Any:
        built.append(info.name)
        return real_build(self, info)

    monkeypatch.setattr(LazyGroup, "build", build)
    assert main(["--help"], stdout=io.StringIO(), stderr=io.StringIO(), env={}) == 0
    assert built == []
    assert main(["call", "--help"], stdout=io.StringIO(), stderr=io.StringIO(), env={}) == 0
    assert built == ["call"]
    built.clear()
    assert main(["config", "path"], stdout=io.StringIO(), stderr=io.StringIO(), env={}) == 0
    assert built == ["config"]


def test_unknown_command_suggests_one_without_building_any(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LazyGroup, "build", lambda self, info: pytest.fail(f"built {info.name}"))
    err = io.StringIO()
    assert main(["cal", "x"], stdout=io.StringIO(), stderr=err, env={}) == 2
    assert "No such command 'cal'. Did you mean 'call'?" in err.getvalue()


def test_every_command_is_registered_under_its_name() -> None:
    for name in COMMANDS:
        assert registration(name).name == name


def test_callbacks_carry_evaluated_annotations() -> None:
    """Typer reads these annotations on every run; as strings they would be evaluated each time."""
    callbacks = [root]
    for name in COMMANDS:
        info = registration(name)
        if isinstance(info, typer.models.TyperInfo):
            assert info.typer_instance is not None
            callbacks += [c.callback for c in info.typer_instance.registered_commands if c.callback]
        else:
            assert info.callback is not None
            callbacks.append(info.callback)
    for callback in callbacks:
        strings = [n for n, a in inspect.get_annotations(callback).items() if isinstance(a, str)]
        assert not strings, f"{callback.__module__}.{callback.__qualname__}: {strings} are strings"


def test_group_settings_follow_the_app() -> None:
    assert app.pretty_exceptions_short == LazyGroup.pretty_exceptions_short


def _imported_after(*argv: str) -> set[str]:
    code = (
        "import io, json, sys\n"
        "from rivetctl.cli.app import main\n"
        f"main({list(argv)!r}, stdout=io.StringIO(), stderr=io.StringIO(), env={{}})\n"
        "sys.__stdout__.write(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def test_help_imports_neither_the_client_nor_asyncio() -> None:
    modules = _imported_after("--help")
    assert not {"asyncio", "rivetctl.client", "rivetctl.cli.context", "rivetctl.errors", "dataclasses"} & modules


def test_a_command_imports_only_its_own_module() -> None:
    modules = _imported_after("ping", "--help")
    assert {m for m in modules if m.startswith("rivetctl.cli.commands.")} == {"rivetctl.cli.commands.misc"}


def test_console_script_pauses_the_collector_and_a_command_body_resumes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up runs without the cyclic collector; a command's body (``run``) turns it back on, with what
    start-up built frozen out of later collections. Called in-process: the collector is restored after."""
    import gc

    from rivetctl.cli import console_main
    from rivetctl.cli.runner import resume_gc

    monkeypatch.setattr(sys, "argv", ["rivetctl", "--version"])
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    try:
        with pytest.raises(SystemExit):
            console_main()
        assert not gc.isenabled()
        frozen = gc.get_freeze_count()
        resume_gc()
        assert gc.isenabled()
        after = gc.get_freeze_count()
        assert after > frozen
        resume_gc()  # enabled already: nothing more is frozen
        assert gc.get_freeze_count() == after
    finally:
        gc.unfreeze()
        gc.enable()
