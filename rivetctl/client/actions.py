"""Attribute-style actions (``await x.increment(5)``), shared by actor handles and connections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class ActionMethods:
    """Turns any public attribute lookup into a call of ``self.action(name, *args)``."""

    async def action(self, name: str, *args: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def __getattr__(self, action: str) -> Callable[..., Awaitable[Any]]:
        if action.startswith("_"):
            raise AttributeError(action)

        async def call(*args: Any) -> Any:
            return await self.action(action, *args)

        call.__name__ = action
        return call
