"""The stateless client library against the real RivetKit server: queries, encodings, data, errors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from rivetctl.client import UNDEFINED, Client
from rivetctl.devserver import DevServer
from rivetctl.errors import (
    ActionTimeoutError,
    ActorError,
    ActorExistsError,
    ActorNotFoundError,
    AuthError,
    ConfigError,
    NetworkError,
    PayloadTooLargeError,
    ProtocolError,
    UnknownActorNameError,
)

ENCODINGS = ["json", "cbor", "bare"]


@pytest.fixture(params=ENCODINGS)
async def client(request: pytest.FixtureRequest, endpoint: str) -> AsyncIterator[Client]:
    async with Client(endpoint, encoding=request.param, env={}) as c:
        yield c


@pytest.fixture
async def bare(endpoint: str) -> AsyncIterator[Client]:
    async with Client(endpoint, encoding="bare", env={}) as c:
        yield c


# -- the four query kinds × three encodings ------------------------------------------------------------


async def test_get_or_create_then_get(client: Client, key: str) -> None:
    assert await client.counter.get_or_create(key).increment(5) == 5
    assert await client.counter.get(key).getCount() == 5
    assert await client["counter"].get_or_create([key]).action("increment", 2) == 7


async def test_create_and_get_for_id(client: Client, key: str) -> None:
    handle = await client.counter.create(key)
    actor_id = await handle.resolve()
    assert await handle.increment(3) == 3
    assert await client.actor("counter").get_for_id(actor_id).getCount() == 3
    assert await client.counter.get_with_id(actor_id).getCount() == 3
    assert await client.counter.get(key).resolve() == actor_id
    assert await client.counter.get_or_create(key).resolve() == actor_id


async def test_compound_key(client: Client, key: str) -> None:
    k = ["org-1", key, "with/slash"]
    assert await client.chatRoom.get_or_create(k).sendMessage("alice", "hi") is not None
    history = await client.chatRoom.get(k).getHistory()
    assert [m["text"] for m in history] == ["hi"]


async def test_key_with_comma_is_not_split(client: Client, key: str) -> None:
    """The official client turns ["a,b"] into ["a","b"]; we address it through its id instead."""
    k = [f"{key},with,commas"]
    assert await client.counter.get_or_create(k).increment(1) == 1
    assert await client.counter.get(k).getCount() == 1
    info = await client.engine.find_actor("counter", k)
    assert info is not None and info.key == k
    assert await client.engine.find_actor("counter", [key, "with", "commas"]) is None


async def test_empty_key(client: Client) -> None:
    # The empty key is a legal, shared key: only check that it round-trips.
    handle = client.withInput.get_or_create([])
    assert isinstance(await handle.getState(), dict)
    assert (await client.withInput.get([]).resolve()) == await handle.resolve()


async def test_get_missing_is_not_found_at_once(client: Client) -> None:
    started = time.monotonic()
    with pytest.raises(ActorNotFoundError) as info:
        await client.counter.get(f"missing-{uuid.uuid4().hex}").getCount()
    assert time.monotonic() - started < 1.5
    assert info.value.status == 404
    assert info.value.ray_id
    with pytest.raises(ActorNotFoundError):
        await client.counter.get(f"missing-{uuid.uuid4().hex}").resolve()


# -- create input ---------------------------------------------------------------------------------------


async def test_create_input(client: Client, key: str) -> None:
    value = {"mode": "tournament", "players": [1, 2, 3], "nested": {"ok": True}}
    assert await client.withInput.get_or_create(key, input=value).getInput() == value
    # A second get-or-create with other input does not change it.
    assert await client.withInput.get_or_create(key, input={"other": 1}).getInput() == value
    created = await client.withInput.create(key + "-c", input="hello")
    assert await created.getInput() == "hello"


async def test_large_create_input_goes_through_rest(bare: Client, key: str) -> None:
    value = {"blob": "x" * 20_000}
    assert await bare.withInput.get_or_create(key, input=value).getInput() == value


async def test_duplicate_create_names_existing_id(bare: Client, key: str) -> None:
    first = await bare.counter.create(key)
    with pytest.raises(ActorExistsError) as info:
        await bare.counter.create(key)
    assert info.value.existing_actor_id == await first.resolve()


# -- connection params -----------------------------------------------------------------------------------


async def test_params_accepted(client: Client, key: str) -> None:
    handle = client.secure.get_or_create(key, params={"token": "secret", "user": "alice"})
    assert (await handle.whoami())["user"] == "alice"
    info = await client.counter.get_or_create(key, params={"p": [1, "ü"]}).connInfo()
    assert info["params"] == {"p": [1, "ü"]}


async def test_params_rejected(client: Client, key: str) -> None:
    with pytest.raises(AuthError) as forbidden:
        await client.secure.get_or_create(key, params={"token": "wrong"}).whoami()
    assert forbidden.value.full_code == "auth.forbidden"
    assert forbidden.value.status == 403
    with pytest.raises(AuthError) as user:
        await client.secure.get_or_create(key, params={"user": "banned"}).whoami()
    assert user.value.full_code == "user.unauthorized"
    assert user.value.metadata == {"hint": "use secret"}
    with pytest.raises(AuthError):
        await client.secure.get_or_create(key).whoami()


# -- errors (protocol §11) ------------------------------------------------------------------------------


async def test_user_errors(client: Client, key: str) -> None:
    h = client.counter.get_or_create(key)
    with pytest.raises(ActorError) as plain:
        await h.throwUser()
    assert (plain.value.group, plain.value.code, plain.value.status) == ("user", "user_error", 500)
    with pytest.raises(ActorError) as coded:
        await h.throwUserCode()
    assert coded.value.code == "RATE_LIMITED" and coded.value.message == "nope"
    assert coded.value.actor is not None and coded.value.actor.key == key
    with pytest.raises(ActorError) as meta:
        await h.throwUserMeta()
    assert meta.value.metadata == {"reason": "because", "n": 42}
    assert meta.value.code == "custom_code"


async def test_internal_error_hides_message(client: Client, key: str) -> None:
    with pytest.raises(ActorError) as info:
        await client.counter.get_or_create(key).throwPlain()
    assert info.value.full_code == "rivetkit.internal_error"
    assert "secret internal detail" not in str(info.value)


async def test_forbidden_from_action(client: Client, key: str) -> None:
    with pytest.raises(AuthError) as info:
        await client.counter.get_or_create(key).throwForbidden()
    assert info.value.status == 403


async def test_unknown_action(client: Client, key: str) -> None:
    with pytest.raises(ActorError) as info:
        await client.counter.get_or_create(key).nope()
    assert info.value.full_code == "actor.action_not_found"
    assert info.value.status == 404


async def test_action_timeout(bare: Client, key: str) -> None:
    with pytest.raises(ActionTimeoutError) as info:
        await bare.timeouts.get_or_create(key).slow(2500)
    assert info.value.status == 408


async def test_outgoing_too_long(client: Client, key: str) -> None:
    with pytest.raises(ActorError) as info:
        await client.counter.get_or_create(key).bigOutput(1_100_000)
    assert info.value.full_code == "message.outgoing_too_long"


async def test_output_near_one_mib(bare: Client, key: str) -> None:
    out = await bare.counter.get_or_create(key).bigOutput(1_000_000)
    assert out == "x" * 1_000_000


async def test_args_over_limit_refused_before_sending(client: Client, key: str) -> None:
    with pytest.raises(PayloadTooLargeError, match="65536-byte"):
        await client.counter.get_or_create(key).echo("x" * 70_000)


async def test_unknown_name_creates_nothing(bare: Client) -> None:
    with pytest.raises(UnknownActorNameError) as info:
        await bare.countr.get_or_create("k").increment(1)
    assert "did you mean 'counter'" in str(info.value)
    names = await bare.actor_names(refresh=True)
    assert "countr" not in names


async def test_unknown_namespace(endpoint: str) -> None:
    async with Client(endpoint, namespace="no-such-namespace", env={}) as c:
        with pytest.raises(ActorError) as info:
            await c.counter.get_or_create("k").getCount()
    assert info.value.full_code == "namespace.not_found"


async def test_unknown_runner_pool(endpoint: str, key: str) -> None:
    async with Client(endpoint, runner="no-such-pool", env={}) as c:
        with pytest.raises(ActorError) as info:
            await c.counter.get_or_create(key).getCount()
    assert info.value.full_code == "actor.no_runner_config_configured"


async def test_destroyed_actor(bare: Client, key: str) -> None:
    handle = await bare.counter.create(key)
    actor_id = await handle.resolve()
    await bare.engine.destroy_actor(actor_id)
    with pytest.raises(ActorNotFoundError):
        for _ in range(50):
            await bare.counter.get_for_id(actor_id).getCount()
            await asyncio.sleep(0.1)
    assert (await bare.engine.get_actor(actor_id)).status == "destroyed"


# -- data kinds in both directions ----------------------------------------------------------------------


async def test_bare_is_lossless(bare: Client, key: str) -> None:
    out = await bare.counter.get_or_create(key).types()
    assert out["bigint"] == 12345678901234567890
    assert out["bytes"] == bytes([0, 1, 2, 253, 254, 255])
    assert out["undef"] is UNDEFINED
    assert out["nul"] is None
    assert out["set"] == {1, "two", 3}
    assert out["map"] == {"a": 1, "b": 2}
    assert out["date"] == datetime.fromtimestamp(1_700_000_000, UTC)
    assert out["nested"] == {"list": [1, 2.5, {"deep": [True, False]}], "empty": {}}
    assert out["unicode"] == "héllo wörld ✓ 日本語 🎉"
    assert out["dollar"] == ["$fake", 1]


@pytest.mark.parametrize("encoding", ["json", "cbor"])
async def test_json_cbor_carry_tagged_values(endpoint: str, encoding: str, key: str) -> None:
    async with Client(endpoint, encoding=encoding, env={}) as c:
        out = await c.counter.get_or_create(key).jsonTypes()
        assert out["bigint"] == 12345678901234567890
        assert out["bytes"] == bytes([0, 1, 2, 253, 254, 255])
        assert out["undef"] is UNDEFINED
        assert out["set"] == {1, "two", 3}
        assert out["dollar"] == ["$fake", 1]
        assert out["unicode"] == "héllo wörld ✓ 日本語 🎉"
        # Map and Date cannot cross json/cbor: the server answers null (documented in docs/encodings.md).
        assert await c.counter.get_or_create(key).dateValue() is None
        assert await c.counter.get_or_create(key).mapValue() is None


async def test_values_sent_reach_the_actor(client: Client, key: str) -> None:
    described = await client.counter.get_or_create(key).describeArgs(
        12345678901234567890,
        b"\x00\x01",
        UNDEFINED,
        None,
        {1, 2},
        [1, [2]],
        "ü✓",
        1.5,
        True,
        {"a": ["$x", 1]},
    )
    assert described == [
        "bigint:12345678901234567890",
        "bytes:0,1",
        "undefined",
        "null",
        "set:1,2",
        "array:2",
        "string:ü✓",
        "number:1.5",
        "boolean:true",
        'object:{"a":["$x",1]}',
    ]


async def test_echo_round_trip(client: Client, key: str) -> None:
    value = {"n": -(2**40), "f": 0.1, "s": "\u0000ctrl", "l": [None, True, {"deep": []}], "big": 2**70}
    assert await client.counter.get_or_create(key).echo(value) == [value]


# -- engine helpers -------------------------------------------------------------------------------------


async def test_engine_listing_and_sleep(bare: Client, key: str) -> None:
    handle = bare.counter.get_or_create(key)
    await handle.increment(1)
    actor_id = await handle.resolve()
    page = await bare.engine.list_actors("counter", limit=100)
    assert page.actors
    info = await bare.engine.get_actor(actor_id)
    assert info.status == "running" and info.key == [key]
    await bare.engine.sleep_actor(actor_id)
    for _ in range(50):
        if (await bare.engine.get_actor(actor_id)).status == "sleeping":
            break
        await asyncio.sleep(0.1)
    assert (await bare.engine.get_actor(actor_id)).status == "sleeping"
    assert await handle.getCount() == 1  # wakes up with its state


async def test_inspector(bare: Client, key: str) -> None:
    from rivetctl.client.inspector import Inspector

    handle = bare.counter.get_or_create(key)
    await handle.increment(4)
    inspector = Inspector(bare, await handle.resolve(), name="counter")
    assert await inspector.state() == {"count": 4}
    assert "increment" in await inspector.actions()
    assert "rpcs" in await inspector.summary()


async def test_metadata_and_health(bare: Client) -> None:
    meta = await bare.metadata()
    assert meta["runtime"] == "engine"
    assert (await bare.engine.health())["status"] == "ok"


# -- bad input: clear errors, bounded time ----------------------------------------------------------------


def test_bad_endpoint_and_encoding() -> None:
    with pytest.raises(ConfigError):
        Client("http://:tok@host", env={})
    with pytest.raises(ConfigError):
        Client("http://127.0.0.1:1", encoding="xml", env={})


async def test_unreachable_server_is_bounded() -> None:
    started = time.monotonic()
    async with Client("http://127.0.0.1:9", connect_timeout=2, env={}) as c:
        with pytest.raises(NetworkError, match="connection refused"):
            await c.counter.get_or_create("k").getCount()
    assert time.monotonic() - started < 5


async def test_non_rivetkit_server_answering_html(tmp_path: object) -> None:
    import http.server
    import threading

    class Html(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = b"<html><body>hello</body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        async with Client(f"http://127.0.0.1:{server.server_address[1]}", env={}) as c:
            with pytest.raises(ProtocolError, match="RivetKit"):
                await c.counter.get_or_create("k").getCount()
            async with Client(f"http://127.0.0.1:{server.server_address[1]}", check_names=False, env={}) as c2:
                with pytest.raises(ProtocolError, match="text/html"):
                    await c2.counter.get_or_create("k").getCount()
    finally:
        server.shutdown()
        server.server_close()


def test_client_import_does_not_pull_cli_dependencies() -> None:
    code = (
        "import sys, rivetctl.client; "
        "bad = [m for m in ('typer', 'rich', 'prompt_toolkit') if m in sys.modules]; "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_server_fixture_is_real(server: DevServer) -> None:
    assert server.engine_pid is not None


async def test_large_safe_ints_stay_numbers(client: Client, key: str) -> None:
    """Ints from 2^32 to 2^53-1 must reach the actor as numbers, not bigints (docs/encodings.md)."""
    described = await client.counter.get_or_create(key).describeArgs(2**40, -(2**40), 2**53 + 1)
    assert described == ["number:1099511627776", "number:-1099511627776", "bigint:9007199254740993"]


async def test_map_and_date_need_bare(endpoint: str, key: str) -> None:
    from rivetctl.protocol.values import JsMap

    for encoding in ("json", "cbor"):
        async with Client(endpoint, encoding=encoding, env={}) as c:
            with pytest.raises(ConfigError, match="datetime"):
                await c.counter.get_or_create(key).describeArgs(datetime.now(UTC))
            # A Map degrades to a plain object: JSON has no Map.
            assert await c.counter.get_or_create(key).describeArgs(JsMap({"a": 1})) == ['object:{"a":1}']
    async with Client(endpoint, encoding="bare", env={}) as c:
        when = datetime.fromtimestamp(1_700_000_000, UTC)
        described = await c.counter.get_or_create(key).describeArgs(JsMap({"a": 1}), when)
    assert described == ["map:a", "date:1700000000000"]


async def test_endpoint_without_metadata_still_routes(endpoint: str, key: str) -> None:
    """A proxy that forwards only the gateway and REST paths: rivetctl assumes an engine and goes on."""
    async with Client(endpoint, encoding="bare", env={}) as client:
        asked: list[int] = []

        async def no_metadata() -> dict[str, object]:
            asked.append(1)
            raise ProtocolError("GET /metadata answered HTTP 404 with text/html")

        client.engine.metadata = no_metadata  # type: ignore[method-assign]
        handle = client.counter.get_or_create(key)
        async with handle.connect() as conn:
            assert await conn.increment(2) == 2
        async with handle.connect() as conn:
            assert await conn.getCount() == 2
        with pytest.raises(ActorNotFoundError):  # asks once more (a get that found nothing), then remembers
            await client.counter.get([f"missing-{key}"]).getCount()
        assert await client.counter.get_or_create(["org", key]).increment(1) == 1
        assert len(asked) == 1
