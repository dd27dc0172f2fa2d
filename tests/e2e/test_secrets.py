"""A unique secret is planted in every place a secret can come from; nothing rivetctl writes may contain it:
stdout, stderr at -v/-vv/-vvv, JSON error documents, exception reprs, config/state/cache files."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from rivetctl.cli.app import main
from rivetctl.client import Client
from rivetctl.errors import RivetctlError


@pytest.fixture
def secret() -> str:
    return f"PLANTED-{uuid.uuid4().hex}"


def _run(argv: list[str], env: dict[str, str], stdin: str = "") -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


def test_secret_never_written_anywhere(endpoint: str, key: str, tmp_path: Path, secret: str) -> None:
    env = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "HOME": str(tmp_path),
        "SECRET_FROM_ENV": secret,
        "RIVET_TOKEN": secret,
    }
    host = endpoint.removeprefix("http://")
    url_with_token = f"http://default:{secret}@{host}"
    written: list[str] = []
    runs = [
        ["-vvv", "--endpoint", endpoint, "--param", f"token={secret}", "call", "counter", key, "getCount"],
        ["-vvv", "-o", "json", "-e", url_with_token, "call", "secure", key, "whoami"],
        ["-vv", "-e", endpoint, "--params", json.dumps({"token": secret}), "call", "secure", key, "whoami"],
        ["-vvv", "-e", endpoint, "--token", secret, "call", "counter", key, "noSuchAction"],
        ["-vvv", "-e", "http://127.0.0.1:9", "--token", secret, "--timeout", "2", "call", "counter", key, "getCount"],
        ["-e", f"http://:{secret}@{host}", "call", "counter", key, "getCount"],
        ["-vvv", "-e", endpoint, "--param", f"token={secret}", "connect", "counter", key],
        ["-e", endpoint, "--param", f"token={secret}", "--timeout", "2", "watch", "counter", key, "newCount",
         "--until-timeout"],
        ["config", "set", "p", "--endpoint", endpoint, "--secret-param", "token=SECRET_FROM_ENV", "--token-env",
         "SECRET_FROM_ENV", "--use"],
        ["config", "show", "p"],
        ["-o", "json", "config", "show", "p"],
        ["-vvv", "call", "secure", key, "whoami"],
        ["--param", "bad-param-without-equals" + secret, "call", "counter", key, "getCount"],
        ["-e", endpoint, "--param", f"token={secret}", "describe", "counter", key],
        ["-vvv", "-e", endpoint, "--inspector-token", secret, "state", "counter", key],
        ["-vvv", "-e", endpoint, "--inspector-token", secret, "-o", "json", "queue", "worker", key],
        ["-vvv", "-e", endpoint, "--param", f"authToken={secret}", "connections", "counter", key],
    ]  # fmt: skip
    for argv in runs:
        _, text = _run(argv, env, stdin="getCount\n.params\n")
        written.append(text)
        assert "Traceback" not in text, (argv, text)
    everything = "\n".join(written)
    assert "***" in everything  # redaction happened, the output was not simply empty
    assert secret not in everything
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path


async def test_exception_reprs_carry_no_secret(endpoint: str, key: str, secret: str) -> None:
    errors: list[BaseException] = []
    async with Client(f"http://default:{secret}@127.0.0.1:9", connect_timeout=1, env={}) as client:
        assert secret not in repr(client) and secret not in repr(client.options)
        try:
            await client.counter.get_or_create(key, params={"token": secret}).getCount()
        except RivetctlError as exc:
            errors.append(exc)
    async with Client(endpoint, token=secret, env={}) as client:
        handle = client.secure.get_or_create(key, params={"token": secret + "x"})
        for call in (handle.whoami(), client.counter.get_or_create(key, params={"token": secret}).nope()):
            try:
                await call
            except RivetctlError as exc:
                errors.append(exc)
        conn = handle.connect({"token": secret + "x"})
        try:
            await conn.wait_open(timeout=10)
        except RivetctlError as exc:
            errors.append(exc)
        finally:
            await conn.dispose()
        assert secret not in repr(conn)
    assert len(errors) == 4
    for exc in errors:
        assert secret not in str(exc) and secret not in repr(exc), repr(exc)
