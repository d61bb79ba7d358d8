"""THE one-at-a-time shared read: callers that ask while a read is under way wait for that same read."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, Generic, Hashable, Optional, TypeVar

T = TypeVar("T")


def _retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # seen, even if every caller was cancelled meanwhile


class SharedRead(Generic[T]):
    """``await shared.run(start)``: ``start()`` runs unless a run is under way, and every caller meanwhile gets
    its result (or its error). A caller that is cancelled does not cancel the others' read. ``once``: the first
    run's result is the answer for good (a check made on first use); else a later call after the run has ended
    starts another."""

    __slots__ = ("once", "_task")

    def __init__(self, once: bool = False) -> None:
        self.once = once
        self._task: Optional[asyncio.Future[T]] = None

    @property
    def running(self) -> bool:
        """Whether a read is under way now."""
        return self._task is not None and not self._task.done()

    async def run(self, start: Callable[[], Awaitable[T]]) -> T:
        """The shared result of ``start()`` (see the class)."""
        if self._task is None or (self._task.done() and not self.once):
            self._task = asyncio.ensure_future(start())
            self._task.add_done_callback(_retrieved)
        return await asyncio.shield(self._task)


class SharedReads(Generic[T]):
    """One ``SharedRead`` per key, dropped when its read has ended (for caches keyed by what they read)."""

    def __init__(self) -> None:
        self._reads: Dict[Hashable, SharedRead[T]] = {}

    async def run(self, key: Hashable, start: Callable[[], Awaitable[T]]) -> T:
        """The shared result of ``start()`` for ``key``."""
        shared = self._reads.get(key)
        if shared is None:
            shared = self._reads[key] = SharedRead()

            async def read_then_forget() -> T:
                try:
                    return await start()
                finally:  # (also when every caller was cancelled meanwhile)
                    del self._reads[key]

            return await shared.run(read_then_forget)
        return await shared.run(start)


__all__ = ["SharedRead", "SharedReads"]
