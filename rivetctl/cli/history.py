"""Event names seen per actor name, remembered across sessions in the XDG state dir (no values kept)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from rivetctl.config import state_dir

MAX_PER_NAME = 50


def _path(env: Mapping[str, str]) -> Path:
    return state_dir(env) / "events.json"


def _load(env: Mapping[str, str]) -> dict[str, list[str]]:
    try:
        data = json.loads(_path(env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): [str(e) for e in v] for k, v in data.items() if isinstance(v, list)}


def remembered_events(env: Mapping[str, str], actor_name: str) -> list[str]:
    return _load(env).get(actor_name, [])


def remember_events(env: Mapping[str, str], actor_name: str, events: Iterable[str]) -> None:
    """Add event names (most recent first); failures to write are ignored: this is a convenience."""
    new = [e for e in events if e]
    if not new:
        return
    data = _load(env)
    merged = list(dict.fromkeys([*new, *data.get(actor_name, [])]))[:MAX_PER_NAME]
    if merged == data.get(actor_name):
        return
    data[actor_name] = merged
    path = _path(env)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
