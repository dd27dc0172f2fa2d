"""Every ``rivetctl`` example in the README and in ``--help`` runs against the real server as printed.

Placeholders (``ACTOR_ID``, ``TOKEN``) are replaced by real values; long-running commands (``watch``,
``connect``) get ``--timeout`` so they end; ``dev-server`` is exercised by the demo test instead. An example
"works" when it does not fail as a usage error and prints no traceback; examples that are meant to fail
(a profile pointing at an unreachable host) may fail with a network error.
"""

from __future__ import annotations

import io
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import typer

from rivetctl.cli.app import app, main
from rivetctl.docgen.tree import command_tree
from rivetctl.frontend.exits import Exit

ROOT = Path(__file__).resolve().parents[2]


def _readme_examples() -> list[str]:
    out = []
    in_block = False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if not in_block:
            continue
        text = line.removeprefix("$ ").strip()
        text = text.split(" #", 1)[0].strip()
        if re.match(r"^(\.venv/bin/)?rivetctl\s", text) or (text.startswith("printf") and "| rivetctl" in text):
            out.append(text)
    return out


def _help_examples() -> list[str]:
    examples: list[str] = []

    def walk(cmd: object) -> None:
        for text in (getattr(cmd, "epilog", "") or "", getattr(cmd, "help", "") or ""):
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("rivetctl ") or line.startswith("echo ") or line.startswith("printf "):
                    examples.append(line.split("  (", 1)[0].strip())
        for sub in getattr(cmd, "commands", ()) or ():
            walk(sub)

    walk(command_tree(typer.main.get_command(app)))
    return examples


# dev-server runs until Ctrl-C: test_demo_script_runs_as_printed covers the bundled server instead.
EXAMPLES = sorted(e for e in set(_readme_examples()) | set(_help_examples()) if "dev-server" not in e)


def test_examples_were_found() -> None:
    assert len(EXAMPLES) >= 25
    assert "rivetctl call counter my-counter increment 5" in EXAMPLES


def _prepare(example: str, actor_id: str, endpoint: str) -> tuple[list[str], str, bool]:
    """argv for ``main``, stdin text, and whether the output is piped into another program."""
    stdin = ""
    if "| rivetctl" in example:
        feeder, example = example.split("| rivetctl", 1)
        example = "rivetctl" + example
        stdin = subprocess.run(["bash", "-c", feeder], capture_output=True, text=True, check=True).stdout
    example = example.split(" | ", 1)[0].split(" > ", 1)[0].split(" && ", 1)[0].rstrip(" &")
    example = example.replace("ACTOR_ID", actor_id).replace("TOKEN", "local-token")
    example = example.replace("127.0.0.1:6420", endpoint.removeprefix("http://"))
    argv = shlex.split(example)
    argv[0:1] = []
    long_running = bool({"watch", "connect", "repl", "wait"} & set(argv))
    if long_running:
        argv = ["--timeout", "3", *argv]
    return argv, stdin, long_running


@pytest.fixture
def actor_id(endpoint: str) -> str:
    """The id of counter "my-counter", created again if an example (``destroy``) removed it."""
    import json

    env = {"RIVET_ENDPOINT": endpoint, "HOME": "/nonexistent"}
    main(["call", "counter", "my-counter", "getCount"], env=env, stdout=io.StringIO(), stderr=io.StringIO())
    get = io.StringIO()
    main(["-o", "json", "get", "counter", "my-counter"], env=env, stdout=get, stderr=io.StringIO())
    return str(json.loads(get.getvalue())["actor_id"])


def _ensure_actor(endpoint: str, name: str, key: str) -> None:
    import asyncio

    from rivetctl.client import Client

    async def go() -> None:
        async with Client(endpoint, env={}) as client:
            await client.actor(name).get_or_create([key]).resolve()

    asyncio.run(go())


_READS_AN_EXISTING_ACTOR = {"state", "connections", "queue", "sql", "workflow", "traces", "describe", "wait"}


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs(
    example: str, endpoint: str, actor_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # files an example writes (.save session.jsonl) stay in the test's directory
    env = {
        "RIVET_ENDPOINT": endpoint,
        "XDG_CONFIG_HOME": str(tmp_path / "c"),
        "XDG_STATE_HOME": str(tmp_path / "s"),
        "XDG_CACHE_HOME": str(tmp_path / "k"),
        "HOME": str(tmp_path),
        "PROD_RIVET_TOKEN": "t",
        "CHAT_TOKEN": "t",
    }
    if "--profile chat" in example:
        main(
            ["config", "set", "chat", "--param", "user=alice", "--events", "chatRoom=newMessage"],
            env=env,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    if "config show prod" in example or "config use prod" in example:
        main(
            ["config", "set", "prod", "--endpoint", "http://127.0.0.1:9"],
            env=env,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    if "config delete old" in example:
        main(["config", "set", "old"], env=env, stdout=io.StringIO(), stderr=io.StringIO())
    if " replay session.jsonl" in example:  # the transcript the example before it saves
        script = ".use counter my-counter\necho hello 42\n.save session.jsonl\n"
        main(["repl"], env=env, stdin=io.StringIO(script), stdout=io.StringIO(), stderr=io.StringIO())
    argv, stdin, long_running = _prepare(example, actor_id, endpoint)
    command = next((a for a in argv if not a.startswith("-")), "")
    if command in _READS_AN_EXISTING_ACTOR:
        name, key = [a for a in argv[argv.index(command) + 1 :] if not a.startswith("-")][:2]
        if not key.startswith("@"):  # inspector commands never create: make the example's actor exist
            _ensure_actor(endpoint, name, key)
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    assert "Traceback" not in err.getvalue()
    allowed = {Exit.OK}
    if long_running:
        allowed |= {Exit.TIMEOUT}
    if "api.rivet.dev" in example or "inspect-id t14qml8rh3pj0fe27hbjkfgp09cl00" in example:
        allowed |= {Exit.OK, Exit.NETWORK, Exit.NOT_FOUND, Exit.PROTOCOL}
    if "--use" in example and "prod" in example:
        allowed |= {Exit.OK}
    assert code in allowed, f"{example!r} → exit {code}: {err.getvalue()}"


def test_demo_script_runs_as_printed() -> None:
    """The README's first set-up command (`scripts/demo`) against its own bundled server."""
    result = subprocess.run(["scripts/demo"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "$ rivetctl call counter my-counter increment 5" in result.stdout
    assert "hello from rivetctl" in result.stdout
