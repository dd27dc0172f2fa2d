"""The command-line grammar for actor addresses, action arguments and connection params (pure, no I/O
except reading ``@file`` and ``-``)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rivetctl.errors import ConfigError
from rivetctl.protocol.values import from_json_compat


@dataclass(frozen=True)
class Address:
    """``NAME KEY``: by key (list of components) or by id (``@ACTOR_ID``)."""

    name: str
    key: list[str] | None = None
    actor_id: str | None = None

    def describe(self) -> str:
        if self.actor_id is not None:
            return f"{self.name} @{self.actor_id}"
        return f"{self.name} {json.dumps(self.key, ensure_ascii=False)}"


def parse_key(text: str) -> list[str] | str:
    """KEY: a JSON array of strings (compound key) or a plain string (one component).

    ``@ID`` is an actor id (returned as ``str`` starting without the ``@``); ``@@x`` is the key ``@x``.
    """
    if text.startswith("@@"):
        return [text[1:]]
    if text.startswith("@"):
        actor_id = text[1:]
        if not actor_id:
            raise ConfigError("'@' must be followed by an actor id")
        return actor_id
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except ValueError as exc:
            raise ConfigError(f"key {text!r} starts with '[' but is not a JSON array: {exc}") from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"compound key {text!r} must be a JSON array of strings")
        return value
    return [text]


def parse_address(name: str, key: str) -> Address:
    if not name:
        raise ConfigError("actor name is empty")
    parsed = parse_key(key)
    if isinstance(parsed, str):
        return Address(name, actor_id=parsed)
    return Address(name, key=parsed)


def parse_value(text: str, *, stdin: IO[str] | None = None) -> Any:
    """One ARG: ``-`` reads a JSON value from stdin; ``@file`` reads JSON from a file; JSON text is
    parsed as JSON (``5``, ``true``, ``{"a":1}``, ``"5"``); anything else is a plain string.

    ``$``-tagged arrays (``["$BigInt","1"]``, ``["$Uint8Array","<b64>"]``) become bigints and bytes.
    """
    if text == "-":
        stream = stdin if stdin is not None else sys.stdin
        return _json_value(stream.read(), "stdin")
    if text.startswith("@") and len(text) > 1:
        if text.startswith("@@"):
            return text[1:]
        return _json_value(_read_file(text[1:]), text[1:])
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return from_json_compat(value, error=ConfigError)


def parse_args(args: list[str], *, args_json: str | None = None, stdin: IO[str] | None = None) -> list[Any]:
    """All action arguments: ``--args JSON-ARRAY`` (or ``@file``) first, then each ARG."""
    values: list[Any] = []
    if args_json is not None:
        raw = _read_file(args_json[1:]) if args_json.startswith("@") else args_json
        parsed = _json_value(raw, "--args")
        if not isinstance(parsed, list):
            raise ConfigError("--args must be a JSON array")
        values.extend(parsed)
    if args.count("-") > 1:
        raise ConfigError("'-' (read stdin) can be used for one argument only")
    values.extend(parse_value(a, stdin=stdin) for a in args)
    return values


def read_text_argument(text: str, *, stdin: IO[str] | None = None) -> str:
    """The text an argument stands for: ``-`` reads stdin, ``@file`` a file, anything else is itself."""
    if text == "-":
        return (stdin if stdin is not None else sys.stdin).read()
    if text.startswith("@") and len(text) > 1:
        return _read_file(text[1:])
    return text


def parse_json_option(text: str, option: str) -> Any:
    """``--input`` / ``--params``: JSON text or ``@file``."""
    raw = _read_file(text[1:]) if text.startswith("@") else text
    return _json_value(raw, option)


def parse_param(text: str) -> tuple[str, Any]:
    """``--param KEY=VALUE``: VALUE is JSON when it parses, else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ConfigError(f"--param expects KEY=VALUE, got {_redacted_param(text)!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def _redacted_param(text: str) -> str:
    name, sep, _ = text.partition("=")
    return f"{name}=***" if sep else "***"


def _read_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path!r} is not UTF-8 text") from None


def _json_value(text: str, where: str) -> Any:
    try:
        return from_json_compat(json.loads(text), error=ConfigError)
    except ValueError as exc:
        raise ConfigError(f"{where} is not valid JSON: {exc}") from None
