"""The one deadline: a call's ``timeout`` made once into a point on the monotonic clock and handed down, unchanged,
from the API to the socket (each layer asks what is left; none makes a second one). Pure: no event loop here."""

from __future__ import annotations

import time
from typing import Optional, Union


class Deadline:
    """``Deadline(timeout)``: the call must end ``timeout`` seconds from now; ``None`` means no deadline (waits
    are unbounded, as the caller asked). ``timeout`` is kept for messages ("within 5 s")."""

    __slots__ = ("timeout", "at")

    def __init__(self, timeout: Optional[float] = None) -> None:
        self.timeout = timeout
        self.at = None if timeout is None else time.monotonic() + timeout

    @classmethod
    def of(cls, timeout: Union[None, float, Deadline]) -> Deadline:
        """THE entry rule: a Deadline passed down is used as it is (never re-made); a number of seconds (or
        None) starts one now."""
        return timeout if isinstance(timeout, Deadline) else cls(timeout)

    def left(self) -> Optional[float]:
        """Seconds left (never negative), or None without a deadline."""
        return None if self.at is None else max(self.at - time.monotonic(), 0.0)

    def request_timeout(self) -> Optional[float]:
        """What is left, as a wait's limit (at least 1 ms: a request always gets a chance to fail)."""
        left = self.left()
        return None if left is None else max(left, 0.001)

    def microseconds(self) -> Optional[int]:
        """What is left in whole microseconds (at least 1), for Triton's request ``timeout``; None without one."""
        left = self.left()
        return None if left is None else max(int(left * 1_000_000), 1)

    def shortest(self, seconds: Optional[float]) -> Optional[float]:
        """The limit of one wait that also has its own bound ``seconds`` (a silence, a connect): the smaller
        of the two, None when neither bounds it."""
        left = self.request_timeout()
        if seconds is None:
            return left
        return seconds if left is None else min(left, seconds)

    def __repr__(self) -> str:
        return f"Deadline({self.timeout!r}, left={self.left()!r})"


__all__ = ["Deadline"]
