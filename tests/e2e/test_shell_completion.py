"""The committed completion scripts, loaded in real bash, zsh and fish: subcommands, options, option values,
and actor, action and profile names from local files — with no rivetctl, Python or network on Tab.

bash: the script is sourced and the function ``complete -p rivetctl`` names is called with COMP_WORDS set
(as readline splits them, ``=`` a word of its own); an interactive bash under a pty also presses Tab.
zsh: an interactive ``zsh -f`` under a pty runs compinit with completions/ on fpath; ``compadd`` is wrapped
to record the matches it is given (the capture technique of zsh-capture-completion), and Tab is pressed.
fish: ``complete -C`` — fish's own completion engine — after sourcing the script.

A missing zsh or fish skips its tests locally and fails them under CI, which installs both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from rivetctl import docgen as gen
from rivetctl.frontend import store

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["counter", "chatRoom"]
ACTIONS = {"counter": ["increment", "getCount", "reset"]}
CONFIG = """current = "local"

[profiles.local]
endpoint = "http://127.0.0.1:6420"

[profiles.local.params]
user = "alice"

[profiles."prod-1"]
namespace = "prod"
"""

# (command line up to the cursor, the words every shell must offer for its last word)
CASES = [
    ("rivetctl ca", {"call"}),
    ("rivetctl con", {"config", "connect", "connections"}),
    ("rivetctl config ", {"set", "use", "list", "show", "delete", "path"}),
    ("rivetctl --enc", {"--encoding"}),
    ("rivetctl call --no", {"--no-create"}),
    ("rivetctl watch counter k --no-", {"--no-state", "--no-create"}),
    ("rivetctl config set --e", {"--endpoint", "--encoding", "--events"}),
    ("rivetctl --encoding ", {"json", "cbor", "bare"}),
    ("rivetctl -o j", {"json", "jsonl"}),
    ("rivetctl --output ", {"auto", "table", "json", "jsonl", "yaml", "raw", "csv"}),
    ("rivetctl watch counter k --timestamps ", {"absolute", "relative"}),
    ("rivetctl completions ", {"bash", "zsh", "fish"}),
    ("rivetctl call ", {"counter", "chatRoom"}),
    ("rivetctl get ch", {"chatRoom"}),
    ("rivetctl -e http://h:1 -o json call counter my-key ", {"increment", "getCount", "reset"}),
    ("rivetctl call counter my-key --no-create inc", {"increment"}),
    ("rivetctl call chatRoom my-key ", set()),
    ("rivetctl call counter my-key increment ", set()),
    ("rivetctl call counter my-key -- --", set()),
    ("rivetctl --token ", set()),
    ("rivetctl --profile ", {"local", "prod-1"}),
    ("rivetctl config use ", {"local", "prod-1"}),
]
IDS = [line.removeprefix("rivetctl ") or "<empty>" for line, _ in CASES]


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _need(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{shell} is not installed (.ci/run installs it from Debian packages)")
        pytest.skip(f"{shell} is not installed (apt-get install {shell})")
    return path


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment with a completion cache, a config file, and decoys that record any process start."""
    base = tmp_path_factory.mktemp("shells")
    home = base / "home"
    env = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_STATE_HOME": str(base / "state"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    store.write_completion_cache(base / "cache" / "rivetctl", names=NAMES, actions=ACTIONS)
    store.write_completion_cache(home / ".cache" / "rivetctl", names=["fallbackName"])
    (base / "config" / "rivetctl").mkdir(parents=True)
    (base / "config" / "rivetctl" / "config.toml").write_text(CONFIG, encoding="utf-8")
    decoys = base / "bin"
    decoys.mkdir()
    marker = base / "started"
    for name in ("rivetctl", "python", "python3", "curl", "wget", "jq"):
        (decoys / name).write_text(f"#!/bin/sh\necho {name} >> '{marker}'\n")
        (decoys / name).chmod(0o755)
    env["PATH"] = f"{decoys}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    env["MARKER"] = str(marker)
    return env


@pytest.fixture(autouse=True)
def nothing_started(sandbox: dict[str, str]) -> Iterator[None]:
    yield
    marker = Path(sandbox["MARKER"])
    assert not marker.exists(), f"completion started {marker.read_text().split()} on Tab"


# --- bash ----------------------------------------------------------------------------------------


def bash_complete(env: dict[str, str], line: str, breaks: str = "=:") -> list[str]:
    """COMPREPLY for ``line`` (cursor at its end), with COMP_WORDS split as readline splits them at the
    COMP_WORDBREAKS characters ``breaks`` (besides blanks)."""
    words = re.findall(rf"[{breaks}]+|[^\s{breaks}]+", line)
    if not words or line[-1].isspace():
        words.append("")
    script = ROOT / gen.SCRIPT_FILES["bash"]
    code = (
        f"source {script}; COMP_WORDBREAKS=$' \\t\\n'{_sh(breaks)}\n"
        "spec=$(complete -p rivetctl) && fn=${spec##*-F } && fn=${fn%% *}\n"
        'COMP_LINE=$1; COMP_POINT=${#COMP_LINE}; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))\n'
        '"$fn" rivetctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(
        [_need("bash"), "--norc", "--noprofile", "-c", code, "bash", line, *words],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


@pytest.mark.parametrize(("line", "expected"), CASES, ids=IDS)
def test_bash(sandbox: dict[str, str], line: str, expected: set[str]) -> None:
    got = bash_complete(sandbox, line)
    assert set(got) == expected and len(got) == len(expected)


def test_bash_word_breaks(sandbox: dict[str, str]) -> None:
    """Readline splits at = and :, and replaces only the text after the last break."""
    assert bash_complete(sandbox, "rivetctl --output=j") == ["json", "jsonl"]
    assert bash_complete(sandbox, "rivetctl --encoding=") == ["json", "cbor", "bare"]
    assert bash_complete(sandbox, "rivetctl -e http://127.0.0.1:6420 --output=json ca") == ["call"]
    assert bash_complete(sandbox, "rivetctl --endpoint=https://h:1 call counter k:1 g") == ["getCount"]


def test_bash_without_the_equals_word_break(sandbox: dict[str, str]) -> None:
    """With = removed from COMP_WORDBREAKS the whole --opt=value word is replaced."""
    assert bash_complete(sandbox, "rivetctl --output=j", breaks=":") == ["--output=json", "--output=jsonl"]


def test_bash_cache_falls_back_to_home(sandbox: dict[str, str]) -> None:
    env = {k: v for k, v in sandbox.items() if k != "XDG_CACHE_HOME"}
    assert bash_complete(env, "rivetctl call ") == ["fallbackName"]


def test_bash_without_cache_offers_nothing(sandbox: dict[str, str], tmp_path: Path) -> None:
    env = {**sandbox, "XDG_CACHE_HOME": str(tmp_path / "none"), "XDG_CONFIG_HOME": str(tmp_path / "none")}
    assert bash_complete(env, "rivetctl call ") == []
    assert bash_complete(env, "rivetctl call counter k ") == []
    assert bash_complete(env, "rivetctl --profile ") == []


def test_bash_rejects_path_tricks_in_actor_names(sandbox: dict[str, str]) -> None:
    assert bash_complete(sandbox, "rivetctl call ../rivetctl/actions/counter k ") == []


def test_bash_file_options_complete_paths(sandbox: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "ca-bundle.pem").write_text("")
    assert bash_complete(sandbox, f"rivetctl --cacert {tmp_path}/ca-b") == [f"{tmp_path}/ca-bundle.pem"]


@pytest.fixture(scope="module")
def bash_tty(sandbox: dict[str, str]) -> Iterator[pexpect.spawn]:
    sh = pexpect.spawn(
        _need("bash"),
        ["--norc", "--noprofile", "-i"],
        env={**sandbox, "PS1": "$ "},
        encoding="utf-8",
        timeout=15,
    )
    sh.sendline(f"set -o emacs; bind 'set bell-style none'; source {ROOT / gen.SCRIPT_FILES['bash']}; echo RE''ADY")
    sh.expect("READY")
    yield sh
    sh.close(force=True)


@pytest.mark.parametrize(
    ("typed", "completed"),
    [
        ("rivetctl comp", "rivetctl completions"),
        ("rivetctl --encoding=cb", "rivetctl --encoding=cbor"),
        ("rivetctl -e http://127.0.0.1:6420 call count", "rivetctl -e http://127.0.0.1:6420 call counter"),
        ("rivetctl call count", "rivetctl call counter"),
        ("rivetctl call counter k incr", "rivetctl call counter k increment"),
        ("rivetctl config set prod --token-env X --us", "rivetctl config set prod --token-env X --use"),
    ],
)
def test_bash_tab_in_a_terminal(bash_tty: pexpect.spawn, typed: str, completed: str) -> None:
    """Tab in a real readline: the completed line is echoed back one word per <...>."""
    bash_tty.send(typed + "\t")
    bash_tty.send("\x01printf '<%s>' \x05\r")  # Ctrl-A: prefix the line with printf; Ctrl-E; Enter
    words = "".join(f"<{w}>" for w in completed.split())
    bash_tty.expect_exact(words)


# --- zsh -----------------------------------------------------------------------------------------

_ZSH_SETUP = r"""
setopt interactive_comments no_beep
fpath=({completions} $fpath)
autoload -Uz compinit && compinit -u -D
compadd() {{
    # Calls that only filter (-O/-A/-D) go through; every other call is recorded, not added.
    if [[ ${{@[1,(i)(-|--)]}} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
    local -a __hits
    builtin compadd -A __hits "$@"
    (( $#__hits )) && print -rl -- $__hits >> {capture}
    return 1
}}
print -r -- RE''ADY
"""


class Zsh:
    """An interactive zsh under a pty whose Tab records the matches instead of inserting them."""

    def __init__(self, env: dict[str, str], capture: Path) -> None:
        self.capture = capture
        self.n = 0
        self.sh = pexpect.spawn(_need("zsh"), ["-f", "-i"], env={**env, "PS1": "> "}, encoding="utf-8", timeout=15)
        for line in _ZSH_SETUP.format(completions=ROOT / "completions", capture=capture).strip().splitlines():
            self.sh.sendline(line)
        self.sh.expect("READY")

    def run(self, command: str) -> None:
        self.n += 1
        self.sh.sendline(f"{command}; print -r -- DO''NE{self.n}")
        self.sh.expect(f"DONE{self.n}\r?\n")

    def complete(self, line: str) -> list[str]:
        self.capture.write_text("")
        self.n += 1
        self.sh.send(line + "\t")
        self.sh.send("\x15")  # Ctrl-U: clear the line
        self.sh.sendline(f"print -r -- DO''NE{self.n}")
        self.sh.expect(f"DONE{self.n}\r?\n")
        return self.capture.read_text().split()


@pytest.fixture(scope="module")
def zsh(sandbox: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zsh]:
    shell = Zsh(sandbox, tmp_path_factory.mktemp("zsh") / "capture")
    yield shell
    shell.sh.close(force=True)


@pytest.mark.parametrize(("line", "expected"), CASES, ids=IDS)
def test_zsh(zsh: Zsh, line: str, expected: set[str]) -> None:
    got = zsh.complete(line)
    assert set(got) == expected and len(got) == len(expected)


def test_zsh_option_equals_value_and_cache_fallback(zsh: Zsh, sandbox: dict[str, str]) -> None:
    assert zsh.complete("rivetctl --output=j") == ["json", "jsonl"]
    zsh.run("unset XDG_CACHE_HOME")
    try:
        assert zsh.complete("rivetctl call ") == ["fallbackName"]
    finally:
        zsh.run(f"export XDG_CACHE_HOME={sandbox['XDG_CACHE_HOME']}")


def test_zsh_sourced_script_registers_itself(sandbox: dict[str, str], tmp_path: Path) -> None:
    """``source <(rivetctl completions zsh)`` after compinit works as well as the fpath install."""
    shell = Zsh(sandbox, tmp_path / "capture")
    try:
        shell.run("fpath=(${fpath:#*/completions}); unfunction _rivetctl 2>/dev/null; compdef -d rivetctl")
        assert shell.complete("rivetctl ca") == []
        shell.run(f"source {ROOT / gen.SCRIPT_FILES['zsh']}")
        assert shell.complete("rivetctl ca") == ["call"]
        assert shell.complete("rivetctl call counter k ") == ["increment", "getCount", "reset"]
    finally:
        shell.sh.close(force=True)


# --- fish ----------------------------------------------------------------------------------------


def fish_complete(env: dict[str, str], line: str) -> list[str]:
    script = ROOT / gen.SCRIPT_FILES["fish"]
    proc = subprocess.run(
        [_need("fish"), "--no-config", "-c", f"source {script}; complete -C {_fish_quote(line)}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [row.split("\t", 1)[0] for row in proc.stdout.splitlines() if row]


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize(("line", "expected"), CASES, ids=IDS)
def test_fish(sandbox: dict[str, str], line: str, expected: set[str]) -> None:
    got = fish_complete(sandbox, line)
    assert set(got) == expected and len(got) == len(expected)


def test_fish_option_equals_value_and_cache_fallback(sandbox: dict[str, str]) -> None:
    assert sorted(fish_complete(sandbox, "rivetctl --output=j")) == ["--output=json", "--output=jsonl"]
    env = {k: v for k, v in sandbox.items() if k != "XDG_CACHE_HOME"}
    assert fish_complete(env, "rivetctl call ") == ["fallbackName"]


def test_fish_descriptions(sandbox: dict[str, str]) -> None:
    proc = subprocess.run(
        [
            _need("fish"),
            "--no-config",
            "-c",
            f"source {ROOT / gen.SCRIPT_FILES['fish']}; complete -C 'rivetctl ca'",
        ],
        capture_output=True,
        text=True,
        env=sandbox,
        timeout=30,
    )
    assert proc.stdout == "call\tCall an action statelessly over HTTP and print its output\n"
