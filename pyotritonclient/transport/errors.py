"""What a request that got no answer becomes: the TransportError types a caller branches on, and the one table
of every transport's foreign exceptions (HTTP/1.1 on asyncio, aiohttp, the browser's), applied by one seam.

A transport raises these types; ``http/_base.py`` maps them to the error family (``transport_error``). Nothing
here branches on an exception's text: the browser's errors are told apart by their JavaScript ``name``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

from ..protocol.http11 import BadResponse
from ..protocol.request import Request
from ..protocol.urls import redact_url


class TransportError(Exception):
    """The request never got an HTTP answer (connection refused, reset, DNS, CORS, a bad answer). The subtypes
    say more: TransportTimeout, TransportClosed, NotSent (certainly not received by the server)."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class TransportTimeout(TransportError):
    """No answer within the deadline (or a silence longer than the transport's limit)."""


class TransportClosed(TransportError):
    """The transport (its client) was closed before this request."""


class NotSent(TransportError):
    """Certainly not received by the server (no connection was made, or it was reset with the request unread):
    the request cannot have run, so it may be sent elsewhere."""


class ConnectTimeout(TransportTimeout, NotSent):
    """No connection within the limit: a timeout, and the request was not sent."""


class Disconnected(Exception):
    """HTTP/1.1 on asyncio: the server closed the connection; ``before_answer``: before any byte of the answer
    came; ``unread``: reset before any answer, so the server never read the whole request (a kernel resets a
    connection that is closed with data unread; after reading it all, the close is a plain FIN)."""

    def __init__(self, message: str, before_answer: bool, reset: bool = False) -> None:
        super().__init__(message)
        self.before_answer = before_answer
        self.unread = before_answer and reset


class Silence(Exception):
    """HTTP/1.1 on asyncio: no data for network_timeout seconds."""


# (exception types, the TransportError type, the message); the message may use {method}, {url} (redacted),
# {exc} and {limit} (" after N s"). The first rule whose types match is used.
ErrorRule = Tuple[Tuple[Type[BaseException], ...], Type[TransportError], str]

HTTP11: List[ErrorRule] = [  # (order matters: asyncio.TimeoutError is an OSError on Python 3.11+)
    ((asyncio.TimeoutError,), TransportTimeout, "{method} {url} timed out{limit}"),
    ((Silence,), TransportTimeout, "{method} {url} timed out: {exc}"),
    ((BadResponse,), TransportError, "{method} {url}: bad HTTP response: {exc}"),
    ((Disconnected, OSError), TransportError, "{method} {url} failed: {exc}"),
]


def aiohttp_rules(aiohttp: Any) -> List[ErrorRule]:
    """aiohttp's table (aiohttp is optional: its module is handed in by transport/aiohttp.py)."""
    return [
        ((asyncio.TimeoutError,), TransportTimeout, "{method} {url} timed out{limit}"),
        ((aiohttp.ClientConnectorError,), NotSent, "cannot connect to {url}: {exc.os_error}"),
        ((aiohttp.ClientError,), TransportError, "{method} {url} failed: {exc.__class__.__name__}: {exc}"),
    ]


# The browser's errors by their JavaScript name (Pyodide's ``JsException.name``): an abort is our own
# AbortController's timeout, a sync XHR past its timeout throws "TimeoutError"; anything else failed (most often
# CORS: the browser does not say more).
BROWSER: Dict[str, Type[TransportError]] = {"AbortError": TransportTimeout, "TimeoutError": TransportTimeout}


def map_error(
    exc: BaseException, rules: Sequence[ErrorRule], request: Request, within: Optional[float]
) -> BaseException:
    """THE seam for foreign exceptions: the first rule whose types match makes the TransportError (``within``:
    the limit a timeout message names); a TransportError, or an exception no rule names (a bug, a
    cancellation), is returned as it is."""
    if isinstance(exc, TransportError):
        return exc
    for types, kind, message in rules:
        if isinstance(exc, types):
            limit = f" after {within:g} s" if within is not None else ""
            text = message.format(method=request.method, url=redact_url(request.url), exc=exc, limit=limit)
            return kind(text, request.url)
    return exc


def browser_error(exc: BaseException, request: Request, hint: str) -> TransportError:
    """A JavaScript error of fetch or XMLHttpRequest, by its name (``BROWSER``); ``hint`` ends a failure's
    message (what to check: CORS)."""
    where = f"{request.method} {redact_url(request.url)}"
    kind = BROWSER.get(str(getattr(exc, "name", "")))
    if kind is not None:
        return kind(f"{where} timed out ({getattr(exc, 'name', '')})", request.url)
    return TransportError(f"{where} failed ({exc}): {hint}", request.url)


__all__ = [
    "BROWSER",
    "HTTP11",
    "ConnectTimeout",
    "Disconnected",
    "ErrorRule",
    "NotSent",
    "Silence",
    "TransportClosed",
    "TransportError",
    "TransportTimeout",
    "aiohttp_rules",
    "browser_error",
    "map_error",
]
