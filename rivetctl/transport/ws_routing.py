"""A websockets client connection that hands each whole message on as it is parsed and writes frames at once."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

Message = bytes | str
Sink = Callable[[Message], None]


@cache
def routed_connection() -> type[ClientConnection]:
    """A websockets ``ClientConnection`` that hands each whole data message to ``sink`` as it is parsed.

    websockets' own ``recv()`` queues messages and wakes a reader task for each; here the message goes
    straight from ``data_received`` to the consumer, in arrival order, with no task switch. Control frames
    (ping, pong, close) are left to websockets.
    """
    from websockets.asyncio.client import ClientConnection
    from websockets.frames import Opcode
    from websockets.protocol import State

    data_opcodes = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)
    text_opcode, cont_opcode = Opcode.TEXT, Opcode.CONT
    open_state = State.OPEN

    class RoutedConnection(ClientConnection):
        sink: Sink | None = None
        on_lost: Callable[[], None] | None = None
        lost = False
        _parts: list[bytes] | None = None
        _parts_text = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.pending: list[Message] = []

        def process_event(self, event: Any) -> None:
            if self.response is None or event.opcode not in data_opcodes:
                super().process_event(event)  # the handshake response, pings, pongs, close
                return
            data = event.data
            if event.opcode is cont_opcode:
                if self._parts is None:
                    return  # websockets' protocol refuses an unexpected continuation before it gets here
                self._parts.append(bytes(data))
                if not event.fin:
                    return
                data, text, self._parts = b"".join(self._parts), self._parts_text, None
            elif not event.fin:
                self._parts, self._parts_text = [bytes(data)], event.opcode is text_opcode
                return
            else:
                text = event.opcode is text_opcode
            message: Message = data if type(data) is bytes else bytes(data)
            if text:
                with contextlib.suppress(UnicodeDecodeError):  # the JSON decoder reports it as a protocol error
                    message = message.decode()  # type: ignore[union-attr]
            if self.sink is None:  # before the transport object takes over: keep for it
                self.pending.append(message)
            else:
                self.sink(message)

        def send_now(self, data: bytes, text: bool) -> bool:
            """Write one whole data frame without suspending, when websockets' ``send()`` would not suspend
            either: the connection is open, no fragmented send is under way, and flow control has not paused
            writing. False otherwise (nothing written): the caller awaits ``send()``."""
            if (
                self.protocol.state is not open_state
                or self.send_in_progress is not None
                or self.paused
                or self.transport.is_closing()
            ):
                return False
            if text:
                self.protocol.send_text(data)
            else:
                self.protocol.send_binary(data)
            self.send_data()
            return True

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            self.lost = True
            if self.on_lost is not None:
                self.on_lost()

    return RoutedConnection
