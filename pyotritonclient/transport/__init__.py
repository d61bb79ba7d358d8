"""Transports, and the one place that decides which one this platform uses."""

from __future__ import annotations

import os
from typing import Any

from ..platform import IN_BROWSER
from ..protocol.deadline import Deadline
from ..protocol.request import BodyParts, Request, body_length
from .base import Headers, Response, StreamResponse, Transport
from .errors import ConnectTimeout, NotSent, TransportClosed, TransportError, TransportTimeout


def default_transport(**options: Any) -> Transport:
    """The transport for this platform: fetch under Pyodide/Emscripten; elsewhere HTTP/1.1 on asyncio protocols
    (``http11.py``), or aiohttp with ``PYOTRITON_TRANSPORT=aiohttp``.

    ``options`` are the common ones (``concurrency``, ``connection_timeout``, ``network_timeout``) plus the TLS
    options of the CPython transports, which the browser transport ignores (the browser owns TLS).
    """
    if IN_BROWSER:
        from .browser.fetch import FetchTransport

        return FetchTransport(**options)
    if os.environ.get("PYOTRITON_TRANSPORT", "").lower() == "aiohttp":
        try:
            from .aiohttp import AiohttpTransport
        except ImportError:
            raise ImportError(
                "PYOTRITON_TRANSPORT=aiohttp needs aiohttp: pip install 'pyotritonclient[aiohttp]'"
            ) from None
        return AiohttpTransport(**options)
    from .asyncio_http11 import Http11Transport

    return Http11Transport(**options)


__all__ = [
    "IN_BROWSER",
    "BodyParts",
    "ConnectTimeout",
    "Deadline",
    "Headers",
    "NotSent",
    "Request",
    "Response",
    "StreamResponse",
    "Transport",
    "TransportClosed",
    "TransportError",
    "TransportTimeout",
    "body_length",
    "default_transport",
]
