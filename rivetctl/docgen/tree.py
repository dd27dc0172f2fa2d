"""The CLI as data: command, option and argument records read from the typer app, and their help text."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SHELLS = ("bash", "zsh", "fish")


@dataclass(frozen=True)
class Values:
    """What completes a value: fixed ``choices``, or a ``kind`` the scripts know how to list.

    Kinds: ``""`` free text (nothing offered), ``choice``, ``file``, ``dir``, ``actor`` (cached actor
    names), ``action`` (cached actions of the actor named by the first argument), ``profile``.
    """

    kind: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Opt:
    flags: tuple[str, ...]
    negations: tuple[str, ...]
    metavar: str  # "" for a flag
    help: str
    repeatable: bool
    values: Values

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.flags, *self.negations)

    @property
    def exits(self) -> bool:
        """--help and --version: nothing else on the line matters."""
        return "--help" in self.flags or "--version" in self.flags


@dataclass(frozen=True)
class Arg:
    metavar: str
    help: str
    required: bool
    variadic: bool
    values: Values

    @property
    def label(self) -> str:
        """What a completion menu calls the argument."""
        return {"actor": "actor name", "profile": "profile name"}.get(
            self.values.kind, self.metavar.lower().replace("_", " ")
        )


@dataclass(frozen=True)
class Cmd:
    path: tuple[str, ...]
    help: str
    epilog: str
    options: tuple[Opt, ...]
    args: tuple[Arg, ...]
    commands: tuple[Cmd, ...]

    @property
    def key(self) -> str:
        return " ".join(self.path)

    @property
    def summary(self) -> str:
        return short(self.help)

    def walk(self) -> Iterator[Cmd]:
        yield self
        for sub in self.commands:
            yield from sub.walk()


def command_tree(root: Any) -> Cmd:
    """The click command ``root`` as data: every command, option and argument, in registration order."""
    import typer

    return _node(root, typer.Context(root, info_name=root.name, **root.context_settings), ())


def _node(cmd: Any, ctx: Any, path: tuple[str, ...]) -> Cmd:
    import typer
    from typer.core import TyperGroup

    options: list[Opt] = []
    args: list[Arg] = []
    for param in cmd.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "option":
            options.append(_option(param, ctx))
        elif param.param_type_name == "argument":
            args.append(_argument(param, path, ctx))
    subs = []
    for name in cmd.list_commands(ctx) if isinstance(cmd, TyperGroup) else []:
        sub = cmd.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            sub_ctx = typer.Context(sub, info_name=name, parent=ctx, **sub.context_settings)
            subs.append(_node(sub, sub_ctx, (*path, name)))
    return Cmd(path, inspect.cleandoc(cmd.help or ""), cmd.epilog or "", tuple(options), tuple(args), tuple(subs))


def _option(param: Any, ctx: Any) -> Opt:
    flags = tuple(sorted(param.opts, key=lambda f: (f.startswith("--"), f)))
    long = next((f for f in flags if f.startswith("--")), flags[0])
    takes_value = not (param.is_flag or param.count)
    choices = _choices(param, ctx)
    values = Values("choice", choices) if choices else _OPTION_VALUES.get(long, Values())
    metavar = (param.metavar or long.lstrip("-").upper().replace("-", "_")) if takes_value else ""
    return Opt(
        flags=flags,
        negations=tuple(param.secondary_opts),
        metavar=metavar,
        help=inspect.cleandoc(param.help or ""),
        repeatable=bool(param.multiple or param.count),
        values=values if takes_value else Values(),
    )


_OPTION_VALUES = {"--profile": Values("profile"), "--cacert": Values("file"), "--data": Values("dir")}
"""What completes the values of options that have no fixed choices."""


def _choices(param: Any, ctx: Any) -> tuple[str, ...]:
    """A parameter's fixed choices: what click's ``shell_complete`` offers for an empty word, when it offers
    plain values (a file or directory type offers a typed placeholder instead)."""
    items = param.shell_complete(ctx, "")
    return tuple(str(item.value) for item in items if getattr(item, "type", "plain") == "plain")


def _argument(param: Any, path: tuple[str, ...], ctx: Any) -> Arg:
    name = str(param.name)
    choices = _choices(param, ctx)
    if choices:
        values = Values("choice", choices)
    elif name == "action":
        values = Values("action")
    elif name == "name":
        values = Values("profile" if path[:1] == ("config",) else "actor")
    else:
        values = Values()
    return Arg(
        metavar=str(param.metavar or name.upper()),
        help=inspect.cleandoc(param.help or ""),
        required=bool(param.required),
        variadic=param.nargs == -1,
        values=values,
    )


def short(text: str) -> str:
    """A one-line description: the first sentence, without ``[env: ...]`` notes or a final period."""
    first = text.strip().split("\n\n", 1)[0].replace("\n", " ")
    first = re.sub(r"\s*\[env:[^\]]*\]", "", first)
    first = re.split(r"(?<=[a-z0-9)][.!?])\s+(?=[A-Z])", first, maxsplit=1)[0]
    return first.strip().removesuffix(".")


def split_doc(text: str) -> tuple[list[str], list[str]]:
    """A help or epilog text as (prose paragraphs, example lines).

    An ``Example:`` / ``Examples:`` line starts a block of indented example lines; unindented text after
    them is prose again.
    """
    paragraphs: list[str] = []
    examples: list[str] = []
    current: list[str] = []
    in_examples = False

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for line in text.strip("\n").splitlines():
        stripped = line.strip()
        if re.fullmatch(r"Examples?:", stripped):
            flush()
            in_examples = True
        elif not stripped:
            flush()
        elif in_examples and line.startswith("  "):
            examples.append(stripped)
        else:
            in_examples = False
            current.append(stripped)
    flush()
    return paragraphs, examples
