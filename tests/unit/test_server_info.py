"""Classifying an endpoint from its /metadata answer (captured from real 2.2.1 and 2.3.19 servers)."""

from __future__ import annotations

import pytest

from rivetctl.protocol.server_info import parse_version, server_info

ENGINE_2319 = {
    "runtime": "engine",
    "version": "2.3.19",
    "git_sha": "VERGEN_IDEMPOTENT_OUTPUT",
    "cargo_target": "x86_64-unknown-linux-musl",
    "epoxy_protocol_version": 3,
    "envoy_protocol_version": 8,
}
FILE_SYSTEM_221 = {
    "runtime": "rivetkit",
    "version": "2.2.1",
    "runner": {"kind": {"normal": {}}, "version": 1},
    "actorNames": {"counter": {"metadata": {}}},
    "clientEndpoint": "http://127.0.0.1:47100",
}
SERVERLESS_2319 = {
    "runtime": "rivetkit",
    "version": "2.3.19",
    "envoy": {"kind": {"serverless": {}}, "version": 1},
    "envoyProtocolVersion": 8,
    "actorNames": {},
    "clientEndpoint": "http://engine:6420",
}
ENVOY = {"envoy_key": "755b", "pool_name": "default", "version": 1, "metadata": {"rivetkit": {"version": "2.3.19"}}}
RUNNER_221 = {"runner_id": "d9bo", "name": "default", "version": 1, "metadata": {"rivetkit": {"version": "2.2.1"}}}


def test_engine_with_envoys() -> None:
    info = server_info(ENGINE_2319, envoys=[ENVOY], runners=[])
    assert (info.runtime, info.version, info.shape) == ("engine", "2.3.19", "engine")
    assert info.rivetkit_versions == ("2.3.19",) and info.listed
    assert info.query_gateway and info.supported and not info.lacks("destroy")
    assert info.describe == "Rivet Engine 2.3.19 with RivetKit 2.3.19"


def test_engine_with_old_runners() -> None:
    info = server_info(ENGINE_2319, envoys=[], runners=[RUNNER_221, RUNNER_221])
    assert info.shape == "runner-behind-engine"
    assert info.rivetkit_versions == ("2.2.1",)
    assert info.describe == "Rivet Engine 2.3.19 with RivetKit 2.2.1 runners"
    assert info.supported and info.query_gateway and not info.lacks("sleep")


def test_engine_without_lists_is_an_engine_not_listed() -> None:
    info = server_info(ENGINE_2319)
    assert info.shape == "engine" and not info.listed and info.rivetkit_versions == ()
    assert info.describe == "Rivet Engine 2.3.19"


def test_file_system_server() -> None:
    info = server_info(FILE_SYSTEM_221)
    assert (info.runtime, info.version, info.shape) == ("rivetkit", "2.2.1", "file-system")
    assert not info.query_gateway and info.supported
    assert info.lacks("destroy") and info.lacks("sleep") and not info.lacks("actions")
    assert info.unsupported_message("destroy") == (
        "RivetKit 2.2.1 (file-system mode) does not support destroying actors (DELETE /actors/{id}) "
        "(it needs a Rivet Engine)"
    )
    assert info.to_dict()["mode"] == "file-system" and info.to_dict()["rivetkit"] == ["2.2.1"]


def test_serverless_listener_is_not_a_client_endpoint() -> None:
    info = server_info(SERVERLESS_2319)
    assert info.shape == "serverless" and not info.supported
    assert info.client_endpoint == "http://engine:6420"


@pytest.mark.parametrize(
    ("meta", "runners", "supported"),
    [
        ({**FILE_SYSTEM_221, "version": "1.9.0"}, None, False),
        ({**FILE_SYSTEM_221, "version": "3.0.0"}, None, False),
        ({**FILE_SYSTEM_221, "version": "2.0.33"}, None, True),
        ({**FILE_SYSTEM_221, "version": "nonsense"}, None, False),
        (ENGINE_2319, [{"metadata": {"rivetkit": {"version": "1.5.0"}}}], False),
        ({"runtime": "something-else", "version": "2.3.19"}, None, False),
    ],
)
def test_supported_versions(meta: dict[str, object], runners: list[object] | None, supported: bool) -> None:
    assert server_info(meta, envoys=[] if runners else None, runners=runners).supported is supported


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("2.2.1", (2, 2, 1)), ("v2.3", (2, 3)), ("2.3.19-rc.1", (2, 3, 19)), ("x", None), (None, None), (3, None)],
)
def test_parse_version(text: object, parsed: tuple[int, ...] | None) -> None:
    assert parse_version(text) == parsed


def test_predates_looks_at_every_rivetkit_behind_the_endpoint() -> None:
    assert server_info(FILE_SYSTEM_221).predates((2, 3))
    assert not server_info(FILE_SYSTEM_221).predates((2, 2))
    assert server_info(ENGINE_2319, envoys=[], runners=[RUNNER_221]).predates((2, 3))
    assert not server_info(ENGINE_2319, envoys=[ENVOY], runners=[]).predates((2, 3))
    assert not server_info(ENGINE_2319).predates((2, 3))  # not listed: nothing known to be older


def test_runner_without_a_version_is_taken_for_2_0() -> None:
    runner_2033 = {"runner_id": "h4it", "name": "default", "version": 1, "metadata": {"inspectorToken": "J5TQ"}}
    info = server_info(ENGINE_2319, envoys=[], runners=[runner_2033])
    assert info.shape == "runner-behind-engine" and info.rivetkit_versions == ("2.0",)
    assert info.describe == "Rivet Engine 2.3.19 with RivetKit 2.0 runners" and info.predates((2, 1))


def test_only_2_0_file_system_servers_take_a_key_as_one_string() -> None:
    assert server_info({**FILE_SYSTEM_221, "version": "2.0.33"}).one_string_keys
    assert not server_info(FILE_SYSTEM_221).one_string_keys
    assert not server_info(ENGINE_2319, envoys=[], runners=[{"metadata": {}}]).one_string_keys
