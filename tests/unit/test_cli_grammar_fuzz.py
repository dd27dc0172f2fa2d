"""Property-based fuzzing of the CLI argument grammar: any text gives a value or a ConfigError, never a crash."""

from __future__ import annotations

import contextlib
import io
import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from rivetctl.errors import ConfigError
from rivetctl.frontend.args import parse_address, parse_args, parse_key, parse_param, parse_value
from rivetctl.repl.completion import what_goes_here
from rivetctl.repl.grammar import parse_line

EXAMPLES = int(os.environ.get("RIVETCTL_GRAMMAR_EXAMPLES", "300"))

texty = st.one_of(
    st.text(),
    st.text(alphabet="[]{}\"$@-,:\\ 0123456789abcxyzAEU\n\t'", max_size=40),
    st.builds(json.dumps, st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=8)),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(texty)
def test_parse_value_total(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_value(text, stdin=io.StringIO("1"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(texty)
def test_parse_key_total(text: str) -> None:
    try:
        key = parse_key(text)
    except ConfigError:
        return
    assert isinstance(key, str) or all(isinstance(k, str) for k in key)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(min_size=1), texty)
def test_parse_address_total(name: str, key: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_address(name, key)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(texty, max_size=5), st.one_of(st.none(), texty))
def test_parse_args_total(args: list[str], args_json: str | None) -> None:
    args = [a for a in args if not a.startswith("@")]  # no file reads in a fuzz run
    if args_json is not None and args_json.startswith("@"):
        args_json = None
    with contextlib.suppress(ConfigError):
        parse_args(args, args_json=args_json, stdin=io.StringIO("null"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(texty)
def test_parse_param_never_echoes_value(text: str) -> None:
    try:
        parse_param(text)
    except ConfigError as exc:
        _, sep, value = text.partition("=")
        if sep and len(value) > 3:
            assert value not in str(exc)


@settings(max_examples=EXAMPLES, deadline=None)
@given(texty)
def test_repl_line_and_completion_total(text: str) -> None:
    if text.strip().startswith("@"):
        return
    with contextlib.suppress(ConfigError):
        parse_line(text)
    what_goes_here(text)
