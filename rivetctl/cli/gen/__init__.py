"""Shell completion scripts (bash, zsh, fish) and the man page, generated from the typer command tree.

Nothing here runs on Tab. The scripts are static text, committed by ``scripts/generate`` and checked for
staleness by a test; at completion time they read small local files only (the completion cache of
:mod:`rivetctl.cli.gen.cache`, and profile names from the config file) — never Python, never the network.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Only the cache helpers are imported eagerly: normal commands call remember_completion on every run and
# must not pay for the generators (command_tree and the rest are imported on first use).
from rivetctl.cli.gen.cache import (
    CACHE_FILE,
    CACHE_FORMAT,
    CACHE_LIMIT,
    SAFE_NAME,
    read_completion_cache,
    remember_completion,
    write_completion_cache,
)

if TYPE_CHECKING:
    from rivetctl.cli.gen.tree import command_tree

__all__ = [
    "CACHE_FILE",
    "CACHE_FORMAT",
    "CACHE_LIMIT",
    "MAN_FILE",
    "SAFE_NAME",
    "SCRIPT_FILES",
    "command_tree",
    "completion_script",
    "generated_files",
    "main",
    "man_page",
    "read_completion_cache",
    "remember_completion",
    "write_completion_cache",
]

SCRIPT_FILES = {
    "bash": "completions/rivetctl.bash",
    "zsh": "completions/_rivetctl",
    "fish": "completions/rivetctl.fish",
}
MAN_FILE = "man/rivetctl.1"


def __getattr__(name: str) -> Any:
    """``command_tree``, imported on first use (PEP 562)."""
    if name == "command_tree":
        from rivetctl.cli.gen.tree import command_tree

        return command_tree
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def completion_script(shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh or fish)."""
    from rivetctl.cli.gen import bash, fish, zsh
    from rivetctl.cli.gen.tree import SHELLS, command_tree
    from rivetctl.errors import ConfigError

    generators = {"bash": bash.script, "zsh": zsh.script, "fish": fish.script}
    if shell not in generators:
        raise ConfigError(f"unknown shell {shell!r}; supported: {', '.join(SHELLS)}")
    return generators[shell](command_tree())


def man_page() -> str:
    """The man page, in roff (``man -l`` renders it)."""
    from rivetctl.cli.gen import man
    from rivetctl.cli.gen.tree import command_tree

    return man.page(command_tree())


def generated_files() -> dict[str, str]:
    """Every committed generated file: path relative to the repository root → content."""
    from rivetctl.cli.gen import bash, fish, man, zsh
    from rivetctl.cli.gen.tree import command_tree

    tree = command_tree()
    files = {
        SCRIPT_FILES["bash"]: bash.script(tree),
        SCRIPT_FILES["zsh"]: zsh.script(tree),
        SCRIPT_FILES["fish"]: fish.script(tree),
    }
    files[MAN_FILE] = man.page(tree)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rivetctl.cli.gen [--check] [ROOT]``: write the generated files, or list stale ones."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    rest = [a for a in args if a != "--check"]
    root = Path(rest[0]) if rest else Path.cwd()
    stale = []
    for rel, text in generated_files().items():
        path = root / rel
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(rel)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    verb = "stale (run scripts/generate)" if check else "written"
    for rel in stale:
        print(f"{rel}: {verb}", file=sys.stderr)
    return 1 if check and stale else 0
