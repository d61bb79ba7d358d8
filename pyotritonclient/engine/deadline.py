"""Waiting on the engine's shared reads within a call's Deadline (protocol/deadline.py): a read several callers
share cannot take one caller's deadline down with it, so each caller bounds its own wait here."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, TypeVar

from ..errors import InferenceServerException
from ..protocol.deadline import Deadline

T = TypeVar("T")


async def bound(deadline: Deadline, waiting: Awaitable[T], refusal: Callable[[], InferenceServerException]) -> T:
    """``await waiting`` within what is left of ``deadline``; when the time is up, ``refusal()`` is raised."""
    left = deadline.left()
    if left is None:
        return await waiting
    try:
        return await asyncio.wait_for(waiting, left)
    except asyncio.TimeoutError:
        raise refusal() from None


__all__ = ["bound"]
