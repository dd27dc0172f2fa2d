"""Decode Rivet Engine ids (actor, namespace, ray ids) into version, random UUID and datacenter label."""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from typing import Any

from rivetctl.errors import ConfigError

# Format, from the engine's ``Id`` type (rivet-dev/rivet, engine/packages/util-id/src/lib.rs):
#
#   bytes   = [version = 1] + uuid(16 bytes, random v4) + datacenter label (u16 big-endian)   19 bytes
#   integer = int.from_bytes(bytes, "little")                      byte 0 (the version) is least significant
#   text    = that integer in base 36, "0-9a-z", exactly 30 digits, least significant digit FIRST
#
# So the first 4 characters alone fix the version byte (36**4 is a multiple of 256), and the last few
# characters carry the label: every id minted in a datacenter with label 1 ends in "l00". The engine
# parses upper case like lower case; 30 base-36 digits can exceed 19 bytes, and the engine refuses those.
# There is no timestamp: the UUID is ``Uuid::new_v4()``, so nothing about creation time can be recovered.

ACTOR_ID_LENGTH = 30
"""Characters in a version-1 id (19 bytes in base 36)."""
ACTOR_ID_VERSION = 1
"""The only id version the engine defines (``Id::V1``)."""
RAW_LENGTH = 19
"""Bytes in a decoded version-1 id: version, 16-byte UUID, 2-byte label."""

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_ALLOWED = frozenset(_DIGITS + _DIGITS.upper())
_LIMIT = 256**RAW_LENGTH
_MAX_LABEL = 0xFFFF
_SHOWN = 40


@dataclass(frozen=True)
class DecodedActorId:
    """What a Rivet Engine id encodes. The same format is used for namespace ids and ray ids.

    Attributes:
        actor_id: The id in canonical (lower-case) form.
        version: The id format version; always ``1`` today.
        uuid: The 16 random bytes of the id, a version-4 UUID for every id the engine mints.
        datacenter_label: The numeric label of the datacenter that minted the id (``label`` in
            ``GET /datacenters``; ``1`` for the single ``default`` datacenter of a local engine).
        raw_hex: The 19 decoded bytes (version, UUID, big-endian label) as lower-case hex.
    """

    actor_id: str
    version: int
    uuid: uuid_module.UUID
    datacenter_label: int
    raw_hex: str

    def to_dict(self) -> dict[str, Any]:
        """Return the decoded fields as JSON-ready values.

        Returns:
            A dict with ``actor_id``, ``version``, ``uuid`` (canonical string), ``uuid_version``
            (``None`` for a UUID that is not RFC 4122, such as the all-zero nil id), ``datacenter_label``
            and ``raw_hex``.
        """
        rfc4122 = self.uuid.variant == uuid_module.RFC_4122
        return {
            "actor_id": self.actor_id,
            "version": self.version,
            "uuid": str(self.uuid),
            "uuid_version": self.uuid.version if rfc4122 else None,
            "datacenter_label": self.datacenter_label,
            "raw_hex": self.raw_hex,
        }


def decode_actor_id(text: str) -> DecodedActorId:
    """Decode a Rivet Engine id, accepting exactly the strings the engine itself accepts.

    Args:
        text: The id, e.g. ``"t14qml8rh3pj0fe27hbjkfgp09cl00"``. Upper case is accepted, as the engine
            does; surrounding whitespace is not.

    Returns:
        The decoded id.

    Raises:
        ConfigError: ``text`` is not a string, has a character outside ``0-9a-z``, is not 30 characters
            long, encodes more than 19 bytes, or carries a version other than 1.
    """
    if not isinstance(text, str):
        raise ConfigError(f"invalid actor id: expected a string, got {type(text).__name__}")
    for position, char in enumerate(text, start=1):
        if char not in _ALLOWED:
            raise ConfigError(
                f"invalid actor id {_show(text)}: character {char!r} at position {position} is not base 36 (0-9, a-z)"
            )
    if len(text) != ACTOR_ID_LENGTH:
        raise ConfigError(f"invalid actor id {_show(text)}: expected {ACTOR_ID_LENGTH} characters, got {len(text)}")
    canonical = text.lower()
    value = int(canonical[::-1], 36)  # least significant digit first; only [0-9a-z] reach here
    if value >= _LIMIT:
        raise ConfigError(f"invalid actor id {_show(text)}: out of range (encodes more than {RAW_LENGTH} bytes)")
    raw = value.to_bytes(RAW_LENGTH, "little")
    if raw[0] != ACTOR_ID_VERSION:
        raise ConfigError(
            f"invalid actor id {_show(text)}: unsupported id version {raw[0]} (only version {ACTOR_ID_VERSION} exists)"
        )
    return DecodedActorId(
        actor_id=canonical,
        version=raw[0],
        uuid=uuid_module.UUID(bytes=raw[1:17]),
        datacenter_label=int.from_bytes(raw[17:19], "big"),
        raw_hex=raw.hex(),
    )


def encode_actor_id(uuid: uuid_module.UUID, datacenter_label: int) -> str:
    """Build the version-1 id text for a UUID and datacenter label (the inverse of :func:`decode_actor_id`).

    Args:
        uuid: The 16-byte UUID part.
        datacenter_label: The datacenter label, 0 to 65535.

    Returns:
        The 30-character lower-case id.

    Raises:
        ConfigError: ``datacenter_label`` does not fit in 16 bits.
    """
    if (
        not isinstance(datacenter_label, int)
        or isinstance(datacenter_label, bool)
        or not (0 <= datacenter_label <= _MAX_LABEL)
    ):
        raise ConfigError(f"invalid datacenter label {datacenter_label!r}: expected an integer 0-{_MAX_LABEL}")
    raw = bytes([ACTOR_ID_VERSION]) + uuid.bytes + datacenter_label.to_bytes(2, "big")
    value = int.from_bytes(raw, "little")
    digits = []
    for _ in range(ACTOR_ID_LENGTH):
        value, digit = divmod(value, 36)
        digits.append(_DIGITS[digit])
    return "".join(digits)


def looks_like_actor_id(text: object) -> bool:
    """Tell whether ``text`` is a well-formed Rivet Engine id, without raising.

    Args:
        text: Anything; only a string can qualify.

    Returns:
        ``True`` exactly when :func:`decode_actor_id` would succeed.
    """
    if not isinstance(text, str):
        return False
    try:
        decode_actor_id(text)
    except ConfigError:
        return False
    return True


def _show(text: str) -> str:
    """Quote an offending id for an error message: one line, at most about 40 characters."""
    if len(text) > _SHOWN:
        return repr(text[:_SHOWN]) + "…"
    return repr(text)
