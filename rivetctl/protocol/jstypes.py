"""The JavaScript values Python has no type for: ``undefined``, ``Map``, the fallbacks, uninterpreted CBOR tags.

Re-exported by :mod:`rivetctl.protocol.values`, which documents how each one travels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


class Undefined:
    """The type of :data:`UNDEFINED`, JavaScript's ``undefined``; falsy, a singleton."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = Undefined()


class JsMap(dict[Any, Any]):
    """A JavaScript ``Map`` (CBOR tag 259): a dict that encodes back as a Map, even with string keys."""


class MapItems(list[tuple[Any, Any]]):
    """A JavaScript ``Map`` whose keys Python cannot hold in a dict: ``(key, value)`` tuples in order."""


class SetItems(list[Any]):
    """A JavaScript ``Set`` whose items Python cannot hold in a set; encodes back as a Set."""


@dataclass(frozen=True, slots=True)
class Tagged:
    """A CBOR tag rivetctl does not interpret (cbor-x RegExp/Error tag 27, typed arrays but Uint8Array…)."""

    tag: int
    value: Any
