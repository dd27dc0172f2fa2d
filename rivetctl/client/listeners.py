"""Who hears a connection: event listeners by name, lifecycle callbacks, and dispatch that isolates failures."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rivetctl.errors import ListenerError, RivetctlError

if TYPE_CHECKING:
    from rivetctl.client.events import EventStream

log = logging.getLogger("rivetctl.connection")

CallbackKind = Literal["status", "open", "close", "error", "retry"]


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """Why a connected session ended (given to ``on_close`` callbacks)."""

    code: int | None
    reason: str
    error: RivetctlError | None = None
    """The connection-level error of the session, if the server sent one before closing."""
    reconnecting: bool = True


@dataclass(eq=False, slots=True)
class Listener:
    """One registration for an event name: a callback (``on``/``once``) or an ``events()`` stream."""

    callback: Callable[..., Any]
    once: bool = False
    stream: EventStream | None = None


class Listeners:
    """The event listeners and lifecycle callbacks of one connection.

    ``subscription(name, True)`` is called when a name gets its first listener and ``(name, False)`` when
    it loses its last one, so the connection can tell the server. Callbacks may be sync or async; one that
    raises (or whose coroutine raises) becomes a ``ListenerError`` for the ``error`` callbacks, or a log
    record when there are none (or when an ``error`` callback itself raised), and changes nothing else.
    """

    def __init__(self, subscription: Callable[[str, bool], None]) -> None:
        self._subscription = subscription
        self._by_name: dict[str, list[Listener]] = {}
        self._callbacks: dict[str, list[Callable[..., Any]]] = {
            "status": [],
            "open": [],
            "close": [],
            "error": [],
            "retry": [],
        }
        self._tasks: set[asyncio.Task[Any]] = set()

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        """The event names that have at least one listener (the set to subscribe to)."""
        return list(self._by_name)

    # -- event listeners ---------------------------------------------------------------------------

    def add(self, name: str, listener: Listener) -> Callable[[], None]:
        listeners = self._by_name.setdefault(name, [])
        listeners.append(listener)
        if len(listeners) == 1:
            self._subscription(name, True)

        def unsubscribe() -> None:
            self.remove(name, listener)

        return unsubscribe

    def remove(self, name: str, listener: Listener) -> None:
        listeners = self._by_name.get(name)
        if not listeners or not any(item is listener for item in listeners):
            return
        listeners[:] = [item for item in listeners if item is not listener]
        if not listeners:
            del self._by_name[name]
            self._subscription(name, False)

    def off(self, name: str, callback: Callable[..., Any] | None) -> None:
        """Remove every callback registration of ``callback`` (or all callbacks) for ``name``; not streams."""
        for listener in list(self._by_name.get(name, ())):
            if listener.stream is None and (callback is None or listener.callback == callback):
                self.remove(name, listener)

    def emit(self, name: str, args: list[Any]) -> None:
        for listener in list(self._by_name.get(name, ())):
            if listener.stream is not None:
                listener.stream._push(name, args)
                continue
            if listener.once:
                self.remove(name, listener)
            self.invoke(listener.callback, *args)

    def finish_streams(self, error: BaseException | None = None) -> None:
        """End every ``events()`` stream (with ``error``, if given, once its buffer is consumed)."""
        for listeners in self._by_name.values():
            for listener in listeners:
                if listener.stream is not None:
                    listener.stream._finish(error)

    def clear_listeners(self) -> None:
        """Forget every event listener without unsubscribing (the connection is going away)."""
        self._by_name.clear()

    # -- lifecycle callbacks -----------------------------------------------------------------------

    def add_callback(self, kind: CallbackKind, callback: Callable[..., Any]) -> Callable[[], None]:
        callbacks = self._callbacks[kind]
        callbacks.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                callbacks.remove(callback)

        return remove

    def clear_callbacks(self) -> None:
        for callbacks in self._callbacks.values():
            callbacks.clear()

    def fire(self, kind: CallbackKind, *args: Any) -> None:
        for callback in list(self._callbacks[kind]):
            self.invoke(callback, *args, report=kind != "error")

    def report(self, error: RivetctlError) -> None:
        """Give a connection-level error to the ``error`` callbacks (or the debug log when there are none)."""
        if self._callbacks["error"]:
            self.fire("error", error)
        else:
            log.debug("connection error: %s", error)

    def invoke(self, callback: Callable[..., Any], *args: Any, report: bool = True) -> None:
        try:
            result = callback(*args)
        except Exception as exc:
            self._failed(callback, exc, report)
            return
        if result is not None and inspect.isawaitable(result):  # the cheap test first: most callbacks are sync
            task = asyncio.ensure_future(result)
            self._tasks.add(task)

            def done(t: asyncio.Future[Any]) -> None:
                self._tasks.discard(task)
                if not t.cancelled() and t.exception() is not None:
                    self._failed(callback, t.exception(), report)  # type: ignore[arg-type]

            task.add_done_callback(done)

    def _failed(self, callback: Callable[..., Any], exc: BaseException, report: bool) -> None:
        name = getattr(callback, "__qualname__", None) or repr(callback)
        if report and self._callbacks["error"]:
            err = ListenerError(f"callback {name} raised {type(exc).__name__}: {exc}", callback)
            err.__cause__ = exc
            self.fire("error", err)
        else:
            log.error("rivetctl connection callback %s raised", name, exc_info=exc)
