"""Transports, and the one place that decides which one this platform uses."""

from __future__ import annotations

import sys
from typing import Any

from .base import (
    BodyParts,
    Headers,
    Response,
    StreamResponse,
    Transport,
    TransportError,
    body_length,
)

IN_BROWSER = sys.platform == "emscripten"


def default_transport(**options: Any) -> Transport:
    """The transport for this platform: fetch under Pyodide/Emscripten, aiohttp elsewhere.

    ``options`` are the common ones (``concurrency``, ``connection_timeout``,
    ``network_timeout``) plus the TLS options of the aiohttp transport, which the
    browser transport ignores (the browser owns TLS).
    """
    if IN_BROWSER:
        from .fetch import FetchTransport

        return FetchTransport(**options)
    from .aiohttp import AiohttpTransport

    return AiohttpTransport(**options)


__all__ = [
    "IN_BROWSER",
    "BodyParts",
    "Headers",
    "Response",
    "StreamResponse",
    "Transport",
    "TransportError",
    "body_length",
    "default_transport",
]
