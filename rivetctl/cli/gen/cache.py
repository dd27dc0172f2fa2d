"""The completion cache: the actor and action names the shell scripts offer on Tab, read and written safely.

Normal commands update it on every run, so this module imports only the standard library.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

CACHE_FORMAT = """\
The completion cache lives in ``$XDG_CACHE_HOME/rivetctl/`` (``~/.cache/rivetctl/``)::

    completion.json     {"version": 1, "names": ["counter", "chatRoom"],
                         "actions": {"counter": ["increment", "getCount"]}}
    names.txt           actor names, one a line (what the shells read)
    actions/NAME.txt    action names of actor name NAME, one a line

``completion.json`` is the record; the ``.txt`` files are derived from it so that a shell can read them
without a JSON parser. Lists are most recent first and hold at most ``CACHE_LIMIT`` entries; values with
whitespace or control characters are not cached (they cannot be completed as one shell word), and
``actions/NAME.txt`` exists only when NAME matches ``SAFE_NAME`` (no path tricks). Every file is replaced
atomically, so a shell never reads half a file.
"""
CACHE_FILE = "completion.json"
NAMES_FILE = "names.txt"
ACTIONS_DIR = "actions"
CACHE_LIMIT = 1000
SAFE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
"""Actor names that get an ``actions/NAME.txt``; the scripts apply the same test before reading one."""


def _clean(values: Sequence[str]) -> list[str]:
    words = (str(v) for v in values)
    return list(dict.fromkeys(w for w in words if w and not re.search(r"[\s\x00-\x1f\x7f]", w)))[:CACHE_LIMIT]


def read_completion_cache(cache_dir: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The cached (names, actions); empty when there is no readable cache."""
    try:
        data = json.loads((cache_dir / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], {}
    if not isinstance(data, dict):
        return [], {}
    names = data.get("names")
    actions = data.get("actions")
    return (
        _clean(names) if isinstance(names, list) else [],
        {str(k): _clean(v) for k, v in actions.items() if isinstance(v, list)} if isinstance(actions, dict) else {},
    )


def write_completion_cache(
    cache_dir: Path, names: Sequence[str] | None = None, actions: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Update the completion cache (format in :data:`CACHE_FORMAT`) atomically.

    Args:
        cache_dir: usually ``rivetctl.config.cache_dir(env)``.
        names: every actor name, replacing the cached list; ``None`` keeps it.
        actions: action names per actor name, replacing those names' lists; others are kept.

    Failures to write are ignored: the cache is a convenience and must never fail a command.
    """
    old_names, old_actions = read_completion_cache(cache_dir)
    new_names = _clean(names) if names is not None else old_names
    new_actions = {str(k): _clean(v) for k, v in (actions or {}).items()}
    kept = [(k, v) for k, v in old_actions.items() if k not in new_actions]
    merged = dict([*new_actions.items(), *kept][:CACHE_LIMIT])
    with contextlib.suppress(OSError):
        _write_atomic(cache_dir / CACHE_FILE, json.dumps({"version": 1, "names": new_names, "actions": merged}))
        _write_atomic(cache_dir / NAMES_FILE, "".join(f"{n}\n" for n in new_names))
        for name, acts in new_actions.items():
            if re.fullmatch(SAFE_NAME, name):
                _write_atomic(cache_dir / ACTIONS_DIR / f"{name}.txt", "".join(f"{a}\n" for a in acts))


def remember_completion(cache_dir: Path, name: str, action: str | None = None) -> None:
    """Put one actor name (and one of its actions) first in the cache, e.g. after a successful call."""
    names, actions = read_completion_cache(cache_dir)
    update = {name: [action, *actions.get(name, [])]} if action else None
    if names[:1] == [name] and (not action or actions.get(name, [])[:1] == [action]):
        return
    write_completion_cache(cache_dir, names=[name, *names], actions=update)


def _write_atomic(path: Path, text: str) -> None:
    import tempfile  # only when something changed: most runs find the cache up to date

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
