"""Changing an actor's state through its inspector: replace, RFC 7396 merge patch, and editing in
``$VISUAL``/``$EDITOR`` with conflict detection (like ``kubectl edit``). Shared by ``rivetctl state`` and the
REPL's ``.state``."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rivetctl.errors import ConfigError, ConflictError

if TYPE_CHECKING:
    from rivetctl.client.inspector import Inspector


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: an object patch merges key by key (``null`` removes a key); anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


MAX_SAFE_INTEGER = 2**53 - 1


def parse_plain_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where} is not valid JSON: {exc}") from None


def check_plain_json(value: Any, where: str) -> None:
    """The inspector carries plain JSON: refuse values it would mangle (bytes, BigInts past 2**53, NaN)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: the inspector takes plain JSON only ({exc})") from None
    if _has_big_int(value):
        raise ConfigError(
            f"{where}: an integer beyond ±2**53 cannot be stored through the inspector (plain JSON, JavaScript "
            "numbers); set it through an action instead"
        )
    if _has_tagged(value):
        raise ConfigError(
            f"{where}: the inspector stores values as plain JSON and does not read $-tagged values "
            '(["$BigInt", …], ["$Uint8Array", …]); they would be stored as arrays'
        )


def _has_big_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > MAX_SAFE_INTEGER
    if isinstance(value, list):
        return any(_has_big_int(v) for v in value)
    if isinstance(value, dict):
        return any(_has_big_int(v) for v in value.values())
    return False


def _has_tagged(value: Any) -> bool:
    if isinstance(value, list):
        if value and isinstance(value[0], str) and value[0].startswith("$") and not value[0].startswith("$$"):
            return True
        return any(_has_tagged(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tagged(v) for v in value.values())
    return False


async def replace_state(inspector: Inspector, value: Any) -> Any:
    """Write ``value`` as the whole state; the state as read back."""
    check_plain_json(value, "--set")
    await inspector.set_state(value)
    return await inspector.state()


async def patch_state(inspector: Inspector, patch: Any) -> Any:
    """Read, merge ``patch`` (RFC 7396), write; the state as read back."""
    check_plain_json(patch, "--patch")
    current = await inspector.state()
    await inspector.set_state(merge_patch(current, patch))
    return await inspector.state()


def editor_command(env: Mapping[str, str]) -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``; split as a shell would (``code --wait``)."""
    text = env.get("VISUAL") or env.get("EDITOR") or "vi"
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(f"cannot parse the editor command {text!r}: {exc}") from None
    if not argv:
        raise ConfigError("the editor command is empty (VISUAL / EDITOR)")
    return argv


class EditOutcome:
    """What an edit did: ``changed`` (written), ``state`` (as read back or as it was)."""

    def __init__(self, changed: bool, state: Any) -> None:
        self.changed = changed
        self.state = state


async def edit_state(
    inspector: Inspector,
    *,
    label: str,
    env: Mapping[str, str],
    run_editor: Callable[[list[str]], int],
    ask_reopen: Callable[[str], bool] | None,
    force: bool = False,
    tmp_dir: Path | None = None,
) -> EditOutcome:
    """Open the state in the editor; write it back if it changed, unless the server's state changed
    meanwhile (``ConflictError`` naming both versions' files, unless ``force``).

    ``run_editor(argv)`` runs the editor on the terminal and returns its exit status (in a thread: the
    event loop, and the REPL's live connections, keep running meanwhile). ``ask_reopen(error)``
    asks whether to reopen a file that is not valid JSON (``None``: never ask, abort at once). An abort
    keeps the edited file and names it.
    """
    before = await inspector.state()
    original = json.dumps(before, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    fd, name = tempfile.mkstemp(prefix=f"rivetctl-state-{_safe(label)}-", suffix=".json", dir=tmp_dir)
    path = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(original)
    keep = False
    try:
        while True:
            status = await asyncio.to_thread(run_editor, [*editor_command(env), str(path)])
            if status != 0:
                keep = True
                raise ConfigError(f"the editor exited with status {status}; nothing written (your edit: {path})")
            text = path.read_text(encoding="utf-8")
            if text == original:
                return EditOutcome(False, before)
            try:
                edited = json.loads(text)
            except ValueError as exc:
                error = f"not valid JSON: {exc}"
                if ask_reopen is not None and ask_reopen(error):
                    continue
                keep = True
                raise ConfigError(f"{error}; nothing written (your edit: {path})") from None
            break
        if edited == before:
            return EditOutcome(False, before)
        check_plain_json(edited, "edited state")
        now = await inspector.state()
        if now != before and not force:
            keep = True
            fd2, server_name = tempfile.mkstemp(
                prefix=f"rivetctl-state-{_safe(label)}-server-", suffix=".json", dir=tmp_dir
            )
            with os.fdopen(fd2, "w", encoding="utf-8") as f:
                f.write(json.dumps(now, indent=2, ensure_ascii=False) + "\n")
            raise ConflictError(
                f"the state changed on the server while you edited it; nothing written "
                f"(your edit: {path}; the server's state: {server_name}; --force writes yours anyway)"
            )
        await inspector.set_state(edited)
        return EditOutcome(True, await inspector.state())
    finally:
        if not keep:
            path.unlink(missing_ok=True)


def run_editor_on_terminal(argv: list[str]) -> int:
    """Run the editor attached to this process's terminal; its exit status."""
    try:
        return subprocess.call(argv)
    except OSError as exc:
        raise ConfigError(f"cannot run the editor {argv[0]!r}: {exc.strerror or exc}") from None


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:40] or "actor"
