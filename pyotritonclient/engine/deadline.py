"""The one deadline rule: a call's ``timeout`` is one budget for everything it waits on (the server's metadata,
the model's config, choosing a pool member, the request), measured on the monotonic clock."""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Optional, TypeVar

from ..errors import InferenceServerException

T = TypeVar("T")


class Deadline:
    """``Deadline(timeout)``: ``None`` means no deadline (waits are unbounded, as the caller asked)."""

    __slots__ = ("timeout", "at")

    def __init__(self, timeout: Optional[float]) -> None:
        self.timeout = timeout
        self.at = None if timeout is None else time.monotonic() + timeout

    def left(self) -> Optional[float]:
        """Seconds left (never negative), or None without a deadline."""
        return None if self.at is None else max(self.at - time.monotonic(), 0.0)

    def request_timeout(self) -> Optional[float]:
        """What is left, as a request's own timeout (at least 1 ms: a request always gets a chance to fail)."""
        left = self.left()
        return None if left is None else max(left, 0.001)

    async def bound(self, waiting: Awaitable[T], refusal: Callable[[], InferenceServerException]) -> T:
        """``await waiting`` within what is left; when the time is up, ``refusal()`` is raised."""
        left = self.left()
        if left is None:
            return await waiting
        try:
            return await asyncio.wait_for(waiting, left)
        except asyncio.TimeoutError:
            raise refusal() from None


__all__ = ["Deadline"]
