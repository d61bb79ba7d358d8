"""The suite's one bounded wait for a state that another process or task reaches (a file, a count, a registry
emptied): it polls the condition, never sleeps a fixed time instead, and fails naming what did not happen."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable


async def wait_until(condition: Callable[[], Any], what: str, within: float = 60.0, every: float = 0.05) -> None:
    """Return once ``condition()`` (a bool, or an awaitable of one) is true; AssertionError after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        answer = condition()
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            return
        assert loop.time() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(every)
