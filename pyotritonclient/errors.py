"""The exceptions users catch: one tree under InferenceServerException, to branch on by type. No numpy, no I/O.

    InferenceServerException          anything this package raises about a request (tritonclient's name)
    ├── InvalidInputError             refused here, before anything was sent (also a ValueError)
    ├── ServerError                   the server answered with an HTTP error; ``http_status``, Triton's message
    ├── UnavailableError              no answer at all: refused, reset, DNS, a browser's CORS block
    ├── InferenceServerTimeout        no answer in time (also an asyncio.TimeoutError)
    ├── ClientClosedError             the client was closed before the call
    └── UnsupportedError              the server lacks the protocol extension the call needs (nothing sent)

``status()`` keeps tritonclient's string form ("400", "UNAVAILABLE", "TIMEOUT"); code in this package never
branches on it or on message text. ``ServiceError`` (service/policy.py) is about an RPC caller's request to the
service; it derives from InferenceServerException so that one ``except`` catches everything a call raises.
``ServerInstallError`` (testing/server.py) is a RuntimeError on purpose: installing a local server is not a
request to Triton.
"""

from __future__ import annotations

import asyncio
from typing import Dict, Optional


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
        """The message alone, without the status."""
        return self._msg

    def status(self) -> Optional[str]:
        """The HTTP status as a string ("400"), "UNAVAILABLE", "TIMEOUT", or None for a local refusal."""
        return self._status

    def debug_details(self) -> Optional[object]:
        """Extra details, when there are any (tritonclient compatibility)."""
        return self._debug_details

    @property
    def http_status(self) -> Optional[int]:
        """The HTTP status as an int when the error came from an HTTP answer."""
        return int(self._status) if self._status and self._status.isdigit() else None


class InvalidInputError(InferenceServerException, ValueError):
    """Refused before anything was sent: an argument or input does not fit (the message names it)."""


class ProtocolError(InferenceServerException, ValueError):
    """Bytes from a server that do not follow the protocol (the binary tensor format, server-sent events);
    raised by the sans-I/O ``protocol`` package and reported as a bad response."""


class ServerError(InferenceServerException):
    """The server answered with an HTTP error status; ``http_status`` and ``message()`` are the server's."""


class UnavailableError(InferenceServerException):
    """The request got no HTTP answer: connection refused or reset, name not found, blocked by CORS.

    ``unsent`` is True when the request certainly did not reach the server (no connection was made), so it
    cannot have run and may be sent elsewhere."""

    def __init__(
        self, msg: str, status: Optional[str] = "UNAVAILABLE", *, unsent: bool = False, **kwargs: object
    ) -> None:
        super().__init__(msg, status, **kwargs)  # type: ignore[arg-type]
        self.unsent = unsent


class NoServerError(UnavailableError):
    """No server of a pool can take the call; ``reasons`` maps each server's URL (credentials redacted by the
    pool) to why (also in the message)."""

    def __init__(self, msg: str, reasons: Optional[Dict[str, str]] = None, **kwargs: object) -> None:
        super().__init__(msg, **kwargs)  # type: ignore[arg-type]
        self.reasons = dict(reasons or {})


class SequenceLostError(UnavailableError):
    """The server a sequence was pinned to is gone: its state is lost. ``server`` is that server's URL
    (credentials redacted by the pool)."""

    def __init__(self, msg: str, server: str = "", **kwargs: object) -> None:
        super().__init__(msg, **kwargs)  # type: ignore[arg-type]
        self.server = server


class InferenceServerTimeout(InferenceServerException, asyncio.TimeoutError):
    """No answer within the client-side time limit (also an ``asyncio.TimeoutError``)."""


class ClientClosedError(InferenceServerException):
    """The client (or its transport) was closed before this call."""


class UnsupportedError(InferenceServerException):
    """The server lacks what the call needs (an extension of the inference protocol); nothing was sent.

    ``extension`` names it (``"sequence"``, ``"binary_tensor_data"``, ``"model_repository"``...)."""

    def __init__(self, msg: str, extension: str = "", **kwargs: object) -> None:
        super().__init__(msg, **kwargs)  # type: ignore[arg-type]
        self.extension = extension


__all__ = [
    "ClientClosedError",
    "InferenceServerException",
    "InferenceServerTimeout",
    "InvalidInputError",
    "NoServerError",
    "ProtocolError",
    "SequenceLostError",
    "ServerError",
    "UnavailableError",
    "UnsupportedError",
]
