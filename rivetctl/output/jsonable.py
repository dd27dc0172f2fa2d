"""Actor values → JSON-safe trees for display (lossless where JSON allows; ``$``-tags elsewhere)."""

from __future__ import annotations

import base64
import math
import re
from datetime import date, datetime
from typing import Any

from rivetctl.protocol.values import Undefined

_MAX_SAFE = 2**53 - 1
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x1b]")


def jsonable(value: Any, _depth: int = 0) -> Any:
    """A tree ``json.dumps`` accepts: bytes, sets, undefined and non-finite floats keep RivetKit's
    ``$``-tags (``["$Uint8Array", "<b64>"]``), datetimes become ISO 8601 strings."""
    if _depth > 200:
        return "…"
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # JavaScript has one number type: a whole float64 (a Date.now() stored in state) shows as an integer.
        return int(value) if value.is_integer() and abs(value) <= _MAX_SAFE else value
    if isinstance(value, Undefined):
        return ["$Undefined", 0]
    if isinstance(value, bytes | bytearray | memoryview):
        return ["$Uint8Array", base64.b64encode(bytes(value)).decode()]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return ["$Set", [jsonable(v, _depth + 1) for v in value]]
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [jsonable(v, _depth + 1) for v in value]
        if len(items) == 2 and isinstance(items[0], str) and items[0].startswith("$"):
            items[0] = "$" + items[0]
        return items
    return repr(value)


def escape_control(text: str) -> str:
    """Make server-supplied text safe for a terminal: control characters become visible escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
