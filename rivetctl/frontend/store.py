"""The files rivetctl keeps between runs, and the one way they are written.

Every file is replaced atomically (a uniquely named temporary file in the same directory, then
``os.replace``), so a reader never sees half a file and two writers never share a temporary name. A
read-modify-write (merging into a cache another process may be updating) holds an advisory lock on a
sibling ``.lock`` file for its duration. The caches are conveniences: failing to read one gives an empty
answer and failing to write one is ignored, so they can never fail a command.

What is kept (no values, no secrets):

- ``$XDG_CACHE_HOME/rivetctl/names/<hash>.json``: the registry's actor names per endpoint and namespace,
  trusted for ``NAMES_TTL`` seconds (a one-shot ``call`` then skips the request that checks the name);
- ``$XDG_CACHE_HOME/rivetctl/completion.json`` and the files derived from it for the shells
  (:data:`COMPLETION_FORMAT`);
- ``$XDG_STATE_HOME/rivetctl/events.json``: event names seen per actor name.

This module imports only the standard library: commands update these files on every run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rivetctl.config import cache_dir, state_dir

# -- primitives -----------------------------------------------------------------------------------------


def write_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` atomically (parents created); ``mode`` sets its permissions first."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock tied to ``path`` (on ``.NAME.lock`` beside it) for a read-modify-write."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_json(path: Path) -> Any:
    """The JSON in ``path``; ``None`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def update_json(path: Path, change: Callable[[Any], Any]) -> None:
    """Read ``path`` (``None`` if absent), let ``change`` compute the new document, write it if it differs;
    locked against other processes doing the same. A failure to write is ignored."""
    with contextlib.suppress(OSError), locked(path):
        old = read_json(path)
        new = change(old)
        if new is not None and new != old:
            write_atomic(path, json.dumps(new, ensure_ascii=False, indent=1))


# -- the registry's names per endpoint ------------------------------------------------------------------

NAMES_TTL = 300.0
"""Seconds a cached list of actor names is trusted. A name missing from it is always checked against the
server, so only a name removed from the registry in that window could slip through (the gateway then
refuses to start it)."""


def _names_path(env: Mapping[str, str], endpoint: str, namespace: str) -> Path:
    digest = hashlib.sha256(f"{endpoint}\0{namespace}".encode()).hexdigest()[:16]
    return cache_dir(env) / "names" / f"{digest}.json"


def cached_names(env: Mapping[str, str], endpoint: str, namespace: str) -> list[str]:
    data = read_json(_names_path(env, endpoint, namespace))
    try:
        if time.time() - float(data["t"]) > NAMES_TTL:
            return []
        return [str(n) for n in data["names"]]
    except (KeyError, TypeError, ValueError):
        return []


def cache_names(env: Mapping[str, str], endpoint: str, namespace: str, names: Sequence[str]) -> None:
    with contextlib.suppress(OSError):
        write_atomic(_names_path(env, endpoint, namespace), json.dumps({"t": time.time(), "names": list(names)}))


# -- event names seen per actor name --------------------------------------------------------------------

EVENTS_PER_NAME = 50


def _events_path(env: Mapping[str, str]) -> Path:
    return state_dir(env) / "events.json"


def _events(data: Any) -> dict[str, list[str]]:
    if not isinstance(data, dict):
        return {}
    return {str(k): [str(e) for e in v] for k, v in data.items() if isinstance(v, list)}


def remembered_events(env: Mapping[str, str], actor_name: str) -> list[str]:
    return _events(read_json(_events_path(env))).get(actor_name, [])


def remember_events(env: Mapping[str, str], actor_name: str, events: Iterable[str]) -> None:
    """Put these event names first in ``actor_name``'s list (at most ``EVENTS_PER_NAME`` kept)."""
    new = [e for e in events if e]
    if not new:
        return

    def change(old: Any) -> dict[str, list[str]]:
        data = _events(old)
        data[actor_name] = list(dict.fromkeys([*new, *data.get(actor_name, [])]))[:EVENTS_PER_NAME]
        return data

    update_json(_events_path(env), change)


# -- the completion cache the shell scripts read ---------------------------------------------------------

COMPLETION_FORMAT = """\
The completion cache lives in ``$XDG_CACHE_HOME/rivetctl/`` (``~/.cache/rivetctl/``)::

    completion.json     {"version": 1, "names": ["counter", "chatRoom"],
                         "actions": {"counter": ["increment", "getCount"]}}
    names.txt           actor names, one a line (what the shells read)
    actions/NAME.txt    action names of actor name NAME, one a line

``completion.json`` is the record; the ``.txt`` files are derived from it so that a shell can read them
without a JSON parser. Lists are most recent first and hold at most ``COMPLETION_LIMIT`` entries; values
with whitespace or control characters are not cached (they cannot be completed as one shell word), and
``actions/NAME.txt`` exists only when NAME matches ``SAFE_NAME`` (no path tricks). Every file is replaced
atomically, so a shell never reads half a file.
"""
COMPLETION_FILE = "completion.json"
NAMES_FILE = "names.txt"
ACTIONS_DIR = "actions"
COMPLETION_LIMIT = 1000
SAFE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
"""Actor names that get an ``actions/NAME.txt``; the scripts apply the same test before reading one."""


def _words(values: Sequence[str]) -> list[str]:
    words = (str(v) for v in values)
    return list(dict.fromkeys(w for w in words if w and not re.search(r"[\s\x00-\x1f\x7f]", w)))[:COMPLETION_LIMIT]


def _completion(data: Any) -> tuple[list[str], dict[str, list[str]]]:
    if not isinstance(data, dict):
        return [], {}
    names = data.get("names")
    actions = data.get("actions")
    return (
        _words(names) if isinstance(names, list) else [],
        {str(k): _words(v) for k, v in actions.items() if isinstance(v, list)} if isinstance(actions, dict) else {},
    )


def read_completion_cache(directory: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The cached (names, actions); empty when there is no readable cache."""
    return _completion(read_json(directory / COMPLETION_FILE))


def write_completion_cache(
    directory: Path, names: Sequence[str] | None = None, actions: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Update the completion cache (format in :data:`COMPLETION_FORMAT`).

    Args:
        directory: usually ``rivetctl.config.cache_dir(env)``.
        names: every actor name, replacing the cached list; ``None`` keeps it.
        actions: action names per actor name, replacing those names' lists; others are kept.
    """
    _update_completion(directory, lambda old_names, _old: (_words(names) if names is not None else old_names, actions))


def remember_completion(directory: Path, name: str, action: str | None = None) -> None:
    """Put one actor name (and one of its actions) first in the cache, e.g. after a successful call."""
    names, actions = read_completion_cache(directory)
    if names[:1] == [name] and (not action or actions.get(name, [])[:1] == [action]):
        return  # most runs: already first, nothing to write
    _update_completion(
        directory,
        lambda old_names, old_actions: (
            [name, *old_names],
            {name: [action, *old_actions.get(name, [])]} if action else None,
        ),
    )


def _update_completion(
    directory: Path,
    change: Callable[[list[str], dict[str, list[str]]], tuple[list[str], Mapping[str, Sequence[str]] | None]],
) -> None:
    record = directory / COMPLETION_FILE
    with contextlib.suppress(OSError), locked(record):
        old_names, old_actions = read_completion_cache(directory)
        names, actions = change(old_names, old_actions)
        new_names = _words(names)
        new_actions = {str(k): _words(v) for k, v in (actions or {}).items()}
        kept = [(k, v) for k, v in old_actions.items() if k not in new_actions]
        merged = dict([*new_actions.items(), *kept][:COMPLETION_LIMIT])
        write_atomic(record, json.dumps({"version": 1, "names": new_names, "actions": merged}))
        write_atomic(directory / NAMES_FILE, "".join(f"{n}\n" for n in new_names))
        for name, acts in new_actions.items():
            if re.fullmatch(SAFE_NAME, name):
                write_atomic(directory / ACTIONS_DIR / f"{name}.txt", "".join(f"{a}\n" for a in acts))
