"""Rivet Engine id decoding: ids minted by a real engine, round trips, and every malformed-input path."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetctl.errors import ConfigError
from rivetctl.protocol.actor_id import (
    ACTOR_ID_LENGTH,
    DecodedActorId,
    decode_actor_id,
    encode_actor_id,
    looks_like_actor_id,
)

# Facts recorded from a real engine (rivetkit 2.3.19, bundled rivet-engine 2.3.19, tests/server/server.mjs),
# created one after another with POST /actors?namespace=default, name "counter". Run 1 used the default
# topology: GET /datacenters answered [{"label": 1, "name": "default"}]. Run 2 set
# RIVET__TOPOLOGY__DATACENTER_LABEL=7 (and the "default" datacenter's datacenter_label=7): GET /datacenters
# answered [{"label": 7, "name": "default"}]. Every actor came back with "datacenter": "default". Columns:
# id, key, create_ts (ms), datacenter label, the UUID the id carries.
RUN_1 = [
    ("pmt8tptka6gcdlk57eti5jjc0ddl00", "k1", 1795896849810, 1, "596b3d6d-2570-4b75-897b-888c439d67fd"),
    ("lnvr9p9e7jrpsgkrj93e8c8vz1dl00", "k2", 1795896849834, 1, "96565c8e-4662-4e92-97e2-fde288933ee3"),
    ("dloq7u7jxzy75tsw920rs5ndb4dl00", "k3", 1795896849862, 1, "ceca4fdb-1ba4-41fa-8423-61674e2fc1e8"),
    ("xcjc3e7yp3iabwqebgbdtpz99jcl00", "k4", 1795896849884, 1, "b8ed7993-8f76-4710-9de7-f89fe6f0bbb6"),
]
RUN_2 = [
    ("dxp3w22p78egq243z1wbef8ykx0540", "a", 1795896937915, 7, "6e65e2cd-3315-4c67-a6f3-8953c838900c"),
    ("5zhcrjgclu0y2fvhr8l4gx3mtg2540", "b", 1795896937945, 7, "0da07a06-ebc6-4516-b2e7-b6d3da21c78f"),
]
REAL_ACTOR_IDS = RUN_1 + RUN_2
# Namespace ids use the same format: "default" namespace of run 1 (create_ts 1795896847597) and of run 2.
NAMESPACE_IDS = [("57w07puzyssjqerzifxqpk2qrwbl00", 1), ("1c1pk2jy0bni3l3p0k4fpslxza3540", 7)]
# The example ids in the project notes, from another local engine (single datacenter, label 1).
NOTE_IDS = [
    "t14qml8rh3pj0fe27hbjkfgp09cl00",
    "lfxv8mze7e79rp1ogehx3bn6jkal00",
    "hgfravgj5dxehxgkyy5e13w16obl00",
]

BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(("actor_id", "key", "create_ts", "dc_label", "uuid_text"), REAL_ACTOR_IDS)
def test_real_ids_decode_to_version_uuid_and_datacenter_label(
    actor_id: str, key: str, create_ts: int, dc_label: int, uuid_text: str
) -> None:
    decoded = decode_actor_id(actor_id)
    assert decoded.actor_id == actor_id
    assert decoded.version == 1
    assert decoded.uuid == uuid.UUID(uuid_text)
    assert decoded.datacenter_label == dc_label
    assert decoded.raw_hex == "01" + uuid.UUID(uuid_text).hex + f"{dc_label:04x}"


@pytest.mark.parametrize(("actor_id", "key", "create_ts", "dc_label", "uuid_text"), REAL_ACTOR_IDS)
def test_the_uuid_is_random_so_no_creation_time_is_encoded(
    actor_id: str, key: str, create_ts: int, dc_label: int, uuid_text: str
) -> None:
    decoded = decode_actor_id(actor_id)
    assert decoded.uuid.variant == uuid.RFC_4122
    assert decoded.uuid.version == 4  # random; a time-based id would be version 1, 6 or 7
    assert str(create_ts) not in str(decoded.uuid.int)


def test_ids_created_milliseconds_apart_share_nothing_but_version_and_label() -> None:
    decoded = [decode_actor_id(row[0]) for row in RUN_1]
    assert len({d.uuid for d in decoded}) == len(decoded)
    assert {(d.version, d.datacenter_label) for d in decoded} == {(1, 1)}
    assert all(row[0].endswith("l00") for row in RUN_1)  # label 1 fixes the last digits
    assert all(row[0].endswith("540") for row in RUN_2)  # label 7


@pytest.mark.parametrize(("namespace_id", "dc_label"), NAMESPACE_IDS)
def test_namespace_ids_share_the_format(namespace_id: str, dc_label: int) -> None:
    decoded = decode_actor_id(namespace_id)
    assert (decoded.version, decoded.datacenter_label, decoded.uuid.version) == (1, dc_label, 4)


@pytest.mark.parametrize("actor_id", NOTE_IDS)
def test_ids_from_the_notes_decode(actor_id: str) -> None:
    decoded = decode_actor_id(actor_id)
    assert (decoded.version, decoded.datacenter_label, decoded.uuid.version) == (1, 1, 4)


def test_a_known_decoding_in_full() -> None:
    assert decode_actor_id("t14qml8rh3pj0fe27hbjkfgp09cl00") == DecodedActorId(
        actor_id="t14qml8rh3pj0fe27hbjkfgp09cl00",
        version=1,
        uuid=uuid.UUID("216c9dac-d326-409b-822b-79f6f4576a9e"),
        datacenter_label=1,
        raw_hex="01216c9dacd326409b822b79f6f4576a9e0001",
    )


@pytest.mark.parametrize(("actor_id", "key", "create_ts", "dc_label", "uuid_text"), REAL_ACTOR_IDS)
def test_encoding_the_parts_gives_back_the_real_id(
    actor_id: str, key: str, create_ts: int, dc_label: int, uuid_text: str
) -> None:
    assert encode_actor_id(uuid.UUID(uuid_text), dc_label) == actor_id


def test_upper_case_is_accepted_like_the_engine_does_and_canonicalised() -> None:
    decoded = decode_actor_id("PMT8TPTKA6GCDLK57ETI5JJC0DDL00")
    assert decoded.actor_id == "pmt8tptka6gcdlk57eti5jjc0ddl00"
    assert decoded == decode_actor_id("pmt8tptka6gcdlk57eti5jjc0ddl00")


def test_the_nil_id_decodes() -> None:
    decoded = decode_actor_id("1" + "0" * 29)
    assert (decoded.version, decoded.uuid, decoded.datacenter_label) == (1, uuid.UUID(int=0), 0)
    assert decoded.to_dict()["uuid_version"] is None


def test_to_dict_is_json_ready() -> None:
    as_dict = decode_actor_id("dxp3w22p78egq243z1wbef8ykx0540").to_dict()
    assert json.loads(json.dumps(as_dict)) == {
        "actor_id": "dxp3w22p78egq243z1wbef8ykx0540",
        "version": 1,
        "uuid": "6e65e2cd-3315-4c67-a6f3-8953c838900c",
        "uuid_version": 4,
        "datacenter_label": 7,
        "raw_hex": "016e65e2cd33154c67a6f38953c838900c0007",
    }


GOOD = "pmt8tptka6gcdlk57eti5jjc0ddl00"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected 30 characters, got 0"),
        ("abc", "expected 30 characters, got 3"),
        (GOOD[:-1], "expected 30 characters, got 29"),
        (GOOD + "0", "expected 30 characters, got 31"),
        (GOOD[:10] + "-" + GOOD[11:], "character '-' at position 11 is not base 36"),
        (" " + GOOD[1:], "character ' ' at position 1"),
        (GOOD + "\n", "character '\\n' at position 31"),
        (GOOD[:5] + "_" + GOOD[6:], "character '_' at position 6"),  # int(..., 36) would accept '_'
        (GOOD[:5] + "\u0663" + GOOD[6:], "at position 6"),  # an Arabic-Indic digit: int() would accept it
        ("596b3d6d-2570-4b75-897b-888c439d67fd", "character '-' at position 9"),  # a bare UUID
        ("q" + GOOD[1:], "unsupported id version 2"),  # first digit +1 → version byte +1
        ("0" * 30, "unsupported id version 0"),
        ("z" * 30, "out of range (encodes more than 19 bytes)"),
    ],
)
def test_malformed_ids_raise_config_error_with_one_clear_line(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        decode_actor_id(text)
    message = str(caught.value)
    assert message.startswith("invalid actor id")
    assert fragment in message
    assert "\n" not in message
    assert not looks_like_actor_id(text)


def test_a_long_input_is_truncated_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        decode_actor_id("a" * 10_000)
    assert len(str(caught.value)) < 150


def test_a_non_string_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="expected a string, got bytes"):
        decode_actor_id(GOOD.encode())  # type: ignore[arg-type]
    assert not looks_like_actor_id(None)
    assert not looks_like_actor_id(GOOD.encode())


@pytest.mark.parametrize("label", [-1, 65536, True, 1.0])
def test_encoding_rejects_labels_outside_16_bits(label: object) -> None:
    with pytest.raises(ConfigError, match="invalid datacenter label"):
        encode_actor_id(uuid.uuid4(), label)  # type: ignore[arg-type]


def test_looks_like_actor_id_accepts_real_ids() -> None:
    assert all(looks_like_actor_id(row[0]) for row in REAL_ACTOR_IDS)
    assert all(looks_like_actor_id(text) for text in NOTE_IDS)


@given(st.text())
def test_random_text_never_raises_anything_but_config_error(text: str) -> None:
    try:
        decoded = decode_actor_id(text)
    except ConfigError as error:
        assert "\n" not in str(error)
        assert not looks_like_actor_id(text)
    else:
        assert looks_like_actor_id(text)
        assert encode_actor_id(decoded.uuid, decoded.datacenter_label) == text.lower()


@given(st.text(alphabet=BASE36 + BASE36.upper(), min_size=ACTOR_ID_LENGTH, max_size=ACTOR_ID_LENGTH))
def test_random_30_digit_strings_decode_or_fail_on_version_or_range_only(text: str) -> None:
    try:
        decoded = decode_actor_id(text)
    except ConfigError as error:
        assert "unsupported id version" in str(error) or "out of range" in str(error)
    else:
        assert decoded.version == 1
        assert encode_actor_id(decoded.uuid, decoded.datacenter_label) == text.lower()


@given(st.uuids(), st.integers(min_value=0, max_value=0xFFFF))
def test_encode_then_decode_round_trips(random_uuid: uuid.UUID, label: int) -> None:
    text = encode_actor_id(random_uuid, label)
    assert len(text) == ACTOR_ID_LENGTH
    assert set(text) <= set(BASE36)
    decoded = decode_actor_id(text)
    assert (decoded.version, decoded.uuid, decoded.datacenter_label) == (1, random_uuid, label)
