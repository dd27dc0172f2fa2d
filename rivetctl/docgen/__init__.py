"""Shell completion scripts (bash, zsh, fish) and the man page, generated from a click command tree.

The generators are given the root command (``rivetctl.cli`` passes its own; ``python -m rivetctl.docgen``
builds it) and never import the command line themselves. Nothing here runs on Tab: the scripts are static
text, committed by ``scripts/generate`` and checked for staleness by a test; at completion time they read
small local files only (the completion cache of :mod:`rivetctl.frontend.store`, and profile names from the
config file) — never Python, never the network.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCRIPT_FILES = {
    "bash": "completions/rivetctl.bash",
    "zsh": "completions/_rivetctl",
    "fish": "completions/rivetctl.fish",
}
MAN_FILE = "man/rivetctl.1"


def completion_script(shell: str, root: Any) -> str:
    """The completion script for ``shell`` (bash, zsh or fish) of the click command ``root``."""
    from rivetctl.docgen import bash, fish, zsh
    from rivetctl.docgen.tree import SHELLS, command_tree
    from rivetctl.errors import ConfigError

    generators = {"bash": bash.script, "zsh": zsh.script, "fish": fish.script}
    if shell not in generators:
        raise ConfigError(f"unknown shell {shell!r}; supported: {', '.join(SHELLS)}")
    return generators[shell](command_tree(root))


def man_page(root: Any) -> str:
    """The man page of the click command ``root``, in roff (``man -l`` renders it)."""
    from rivetctl.docgen import man
    from rivetctl.docgen.tree import command_tree

    return man.page(command_tree(root))


def generated_files(root: Any) -> dict[str, str]:
    """Every committed generated file: path relative to the repository root → content."""
    from rivetctl.docgen import bash, fish, man, zsh
    from rivetctl.docgen.tree import command_tree

    tree = command_tree(root)
    files = {
        SCRIPT_FILES["bash"]: bash.script(tree),
        SCRIPT_FILES["zsh"]: zsh.script(tree),
        SCRIPT_FILES["fish"]: fish.script(tree),
    }
    files[MAN_FILE] = man.page(tree)
    return files


def main(root: Any, argv: Sequence[str] | None = None) -> int:
    """``[--check] [ROOT_DIR]``: write the generated files of ``root``, or list the stale ones."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    rest = [a for a in args if a != "--check"]
    base = Path(rest[0]) if rest else Path.cwd()
    stale = []
    for rel, text in generated_files(root).items():
        path = base / rel
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
