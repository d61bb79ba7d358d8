"""Which callers are gone: asked through a ``caller_alive`` check, a caller counts as gone only when found gone
at two checks in a row (one that is reconnecting keeps its sequences and streams). Sequences and streams each
keep one ``Departures``."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Iterable, List, Optional, Set

# caller id -> False when the caller is certainly gone (disconnected); True or None when alive or unknown.
CallerCheck = Callable[[str], Awaitable[Optional[bool]]]
CHECK_SECONDS = 15.0  # the longest one check of one caller may take (no answer: unknown, kept)


class Departures:
    """The two-checks rule: ``gone(owners, check)`` answers the owners found gone now and at the check before."""

    def __init__(self) -> None:
        self._gone_once: Set[str] = set()  # callers found gone at the last check

    async def gone(self, owners: Iterable[str], check: CallerCheck) -> List[str]:
        """Ask ``check`` about every owner at once; the ones gone twice in a row, sorted."""

        async def alive(owner: str) -> Optional[bool]:
            try:
                return await asyncio.wait_for(check(owner), CHECK_SECONDS)
            except Exception:
                return None  # unknown: kept (their idle timeouts still apply)

        asked = sorted(set(owners))
        answers = await asyncio.gather(*(alive(owner) for owner in asked))
        now = {owner for owner, answer in zip(asked, answers) if answer is False}
        twice = sorted(now & self._gone_once)
        self._gone_once = now - self._gone_once
        return twice

    def forget(self) -> None:
        """Nothing is open any more: start counting afresh."""
        self._gone_once.clear()


__all__ = ["CHECK_SECONDS", "CallerCheck", "Departures"]
