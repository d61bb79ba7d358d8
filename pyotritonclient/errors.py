"""The exceptions users catch. No numpy, no I/O: importable everywhere."""

from __future__ import annotations

import asyncio
from typing import Optional


class InferenceServerException(Exception):
    """An error from the server (with its HTTP status and Triton's own message) or from the client.

    Same accessors as tritonclient's: ``message()``, ``status()``, ``debug_details()``.
    """

    def __init__(
        self,
        msg: str,
        status: Optional[str] = None,
        debug_details: Optional[object] = None,
        url: Optional[str] = None,
    ) -> None:
        super().__init__(msg)
        self._msg = msg
        self._status = status
        self._debug_details = debug_details
        self.url = url

    def __str__(self) -> str:
        text = self._msg
        if self._status is not None:
            text = f"[{self._status}] {text}"
        return text

    def message(self) -> str:
        return self._msg

    def status(self) -> Optional[str]:
        return self._status

    def debug_details(self) -> Optional[object]:
        return self._debug_details

    @property
    def http_status(self) -> Optional[int]:
        """The HTTP status as an int when the error came from an HTTP answer."""
        return int(self._status) if self._status and self._status.isdigit() else None


class InferenceServerTimeout(InferenceServerException, asyncio.TimeoutError):
    """No answer within the client-side time limit (also an ``asyncio.TimeoutError``)."""
