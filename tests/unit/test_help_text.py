"""Help as a newcomer reads it: examples that paste, choices instead of types, NAME KEY in usage lines, no
noise defaults, a word on global options after the command and on ``--``; NO_COLOR by no-color.org."""

from __future__ import annotations

import io
import re

import pytest

from rivetctl.cli.app import main
from rivetctl.frontend.settings import GlobalOptions, Settings

_capture: list[pytest.CaptureFixture[str]] = []


def _help(*args: str) -> str:
    """What ``rivetctl ARGS --help`` prints (click writes help to the process's stdout)."""
    capsys = _capture[0]
    capsys.readouterr()
    err = io.StringIO()
    assert main([*args, "--help"], stderr=err, env={}) == 0, err.getvalue()
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def narrow_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    _capture[:] = [capsys]


def test_examples_are_printed_as_written_even_on_a_narrow_terminal() -> None:
    text = _help("completions")
    assert "    rivetctl completions bash > ~/.local/share/bash-completion/completions/rivetctl\n" in text
    assert "  rivetctl -e http://default:TOKEN@127.0.0.1:6420 actors counter\n" in _help()
    long_example = "rivetctl config set chat --param user=alice --secret-param token=CHAT_TOKEN --events"
    assert long_example in _help("config", "set")


def test_prose_is_still_wrapped_to_the_terminal() -> None:
    text = _help("call")
    prose = [line for line in text.splitlines() if "Each ARG is JSON" in line]
    assert prose and all(len(line) <= 60 for line in prose)


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        ((), "auto|table|json|jsonl|yaml|raw"),
        ((), "json|cbor|bare"),
        (("watch",), "absolute|relative"),
    ],
)
def test_fixed_choices_are_listed(command: tuple[str, ...], choices: str) -> None:
    assert choices in re.sub(r"\s+", "", _help(*command))


def test_the_shells_are_named() -> None:
    """An argument's choices: typer 0.29 lists them itself, older typers only through the help text."""
    text = _help("completions")
    assert "bash|zsh|fish" in re.sub(r"\s+", "", text) or "bash, zsh or fish" in text


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("call", "Usage: rivetctl call [OPTIONS] NAME KEY ACTION [ARG]..."),
        ("watch", "Usage: rivetctl watch [OPTIONS] NAME KEY [EVENT]..."),
        ("connect", "Usage: rivetctl connect [OPTIONS] NAME KEY"),
        ("state", "Usage: rivetctl state [OPTIONS] NAME KEY"),
    ],
)
def test_usage_names_the_arguments(command: str, usage: str) -> None:
    text = _help(command)
    assert text.startswith(usage + "\n")
    assert "{" not in text.splitlines()[0]


def test_options_show_a_metavar_not_a_python_type() -> None:
    text = _help() + _help("call") + _help("watch") + _help("connect") + _help("config", "set")
    assert "<str>" not in "\n".join(line for line in text.splitlines() if line.lstrip().startswith("-"))
    assert "--timeout SECONDS" in text and "--param KEY=VALUE" in text and "--repeat N" in text


def test_counted_verbose_flag_shows_no_default() -> None:
    lines = [line for line in _help().splitlines() if "--verbose" in line]
    assert lines and "[default" not in " ".join(lines)


@pytest.mark.parametrize("command", ["call", "watch", "connect"])
def test_streaming_and_calling_commands_explain_global_options_and_double_dash(command: str) -> None:
    text = re.sub(r"\s+", " ", _help(command))
    assert "may also follow the command" in text
    assert "`--`" in text


@pytest.mark.parametrize(
    ("value", "color"),
    [(None, True), ("", True), ("1", False), ("false", False)],
)
def test_no_color_only_when_non_empty(value: str | None, color: bool) -> None:
    env = {} if value is None else {"NO_COLOR": value}
    assert Settings(GlobalOptions(), env=env).color is color
    assert Settings(GlobalOptions(no_color=True), env={}).color is False


def test_csv_is_refused_before_a_command_other_than_sql_runs() -> None:
    err = io.StringIO()
    # An unreachable endpoint: had the call been attempted, the exit would be 7, not 2.
    argv = ["-e", "http://127.0.0.1:9", "-o", "csv", "call", "counter", "k", "increment", "1"]
    assert main(argv, stdout=io.StringIO(), stderr=err, env={}) == 2
    assert "csv is for the sql command" in err.getvalue()
