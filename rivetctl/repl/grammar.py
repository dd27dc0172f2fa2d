"""The line grammar shared by the REPL and ``connect``'s script mode (pure: text in, command out).

A line is either a call, ``ACTION [ARG...]`` (each ARG as on the command line: JSON if it parses, else a
string; quote with shell rules), a dot-command ``.NAME [WORD...]`` (the names of
:data:`rivetctl.repl.commands.COMMANDS`), a JSON object
``{"action": "...", "args": [...]}``, a comment (``#``) or blank.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from rivetctl.errors import ConfigError
from rivetctl.repl.commands import COMMANDS


@dataclass(frozen=True)
class Call:
    action: str
    args: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Dot:
    name: str
    words: list[str] = field(default_factory=list)
    rest: str = ""
    """The raw text after the command name (for JSON arguments such as ``.params {...}``)."""


@dataclass(frozen=True)
class Empty:
    pass


Line = Call | Dot | Empty


def parse_line(text: str) -> Line:
    """Parse one line; raises ``ConfigError`` with a one-line reason for malformed input."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return Empty()
    if stripped.startswith("{"):
        return _json_call(stripped)
    if stripped.startswith("."):
        head, _, rest = stripped.partition(" ")
        name = head.lower()
        if name not in COMMANDS:
            raise ConfigError(f"unknown command {head!r}; try .help")
        return Dot(name, _split(rest), rest.strip())
    words = _split(stripped)
    from rivetctl.frontend.args import parse_value

    action, *args = words
    if "-" in args:
        raise ConfigError("'-' (stdin) is not available here; give the value inline")
    return Call(action, [parse_value(a) for a in args])


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError as exc:
        raise ConfigError(f"cannot parse line: {exc}") from None


def _json_call(text: str) -> Call:
    from rivetctl.protocol.values import from_json_compat

    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"line is not valid JSON: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("action"), str):
        raise ConfigError('a JSON line must be an object with "action" (and optional "args" array)')
    args = obj.get("args", [])
    if not isinstance(args, list):
        raise ConfigError('"args" must be a JSON array')
    return Call(obj["action"], [from_json_compat(a, error=ConfigError) for a in args])


def is_secret_line(text: str) -> bool:
    """True for lines that may carry secrets (params, tokens): never written to history."""
    stripped = text.strip().lower()
    command = COMMANDS.get(stripped.split(maxsplit=1)[0]) if stripped else None
    if command is not None and command.secret:
        return True
    return any(word in stripped for word in ("token", "secret", "password", "apikey", "api_key"))
