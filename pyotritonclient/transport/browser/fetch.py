"""Browser transport (Pyodide): the JavaScript ``fetch`` API behind the same interface as aiohttp's.

- The request body is copied once, part by part, into one ``Uint8Array`` that fetch sends.
- The response body is read with ``arrayBuffer()`` and copied once into Python ``bytes``.
- ``stream`` reads ``response.body`` with a ReadableStream reader, chunk by chunk as it arrives.
- Timeouts abort the request with an ``AbortController``.
- The browser owns TLS, connection pooling and response decompression; forbidden headers
  (``Accept-Encoding``...) are left to it. Only CORS-safe behaviour: a server behind a CORS proxy works.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, Optional

from ...platform import js_module, pyodide_ffi
from ...protocol.deadline import Deadline
from ...protocol.request import BodyParts, Request, body_length
from ...protocol.urls import redact_url
from ..base import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECTION_TIMEOUT,
    DEFAULT_NETWORK_TIMEOUT,
    Headers,
    Response,
    StreamResponse,
)
from ..errors import TransportClosed, TransportError, TransportTimeout, browser_error

# Headers a browser refuses to let scripts set (fetch drops them or fails); the browser sets its own.
FORBIDDEN_HEADERS = {"content-length", "connection", "host", "accept-encoding", "keep-alive", "transfer-encoding"}

CORS_HINT = (
    "the browser blocked the request or could not reach the server; if the server is up, the likely cause "
    "is a missing CORS configuration on it (Triton sends no CORS headers: put it behind a proxy that adds "
    "them, see docs/cors.md)"
)


def js_body(body: BodyParts) -> Any:
    """The body parts copied once, part by part, into one JavaScript ``Uint8Array``."""
    buffer = js_module().Uint8Array.new(body_length(body))
    offset = 0
    for part in body:
        view = memoryview(part).cast("B")
        if view.nbytes:
            buffer.subarray(offset, offset + view.nbytes).assign(view)  # the one copy
            offset += view.nbytes
    return buffer


class FetchTransport:
    """fetch-based transport. Options of the CPython transport are accepted; TLS ones are ignored."""

    def __init__(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT,
        network_timeout: float = DEFAULT_NETWORK_TIMEOUT,
        **_ignored: Any,
    ) -> None:
        self.concurrency = concurrency
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self._limit = asyncio.Semaphore(concurrency) if concurrency else None
        self._closed = False
        self.stats: Dict[str, int] = {"requests": 0, "connections_created": 0}

    def _options(self, request: Request, controller: Any) -> Any:
        to_js = pyodide_ffi().to_js

        js = js_module()
        options: Dict[str, Any] = {
            "method": request.method,
            "headers": {k: v for k, v in request.headers.items() if k.lower() not in FORBIDDEN_HEADERS},
            "signal": controller.signal,
        }
        if request.body:
            options["body"] = js_body(request.body)
        return to_js(options, dict_converter=js.Object.fromEntries)

    async def _fetch(self, request: Request, controller: Any) -> Any:
        JsException = pyodide_ffi().JsException

        if self._closed:
            raise TransportClosed("this client is closed", request.url)
        self.stats["requests"] += 1
        try:
            return await js_module().fetch(request.url, self._options(request, controller))
        except JsException as exc:
            raise _error(exc, request) from None

    async def send(self, request: Request, deadline: Deadline) -> Response:
        """Send one request with ``fetch`` (aborted when the deadline passes) and read the whole answer."""
        JsException = pyodide_ffi().JsException

        controller = js_module().AbortController.new()
        limit = deadline.shortest(None if deadline.at is not None else self.network_timeout)

        async def run() -> Response:
            response = await self._fetch(request, controller)
            try:
                data = (await response.arrayBuffer()).to_bytes()  # the one copy
            except JsException as exc:
                raise _error(exc, request) from None
            return Response(int(response.status), _headers(response), data, request.url, decoded=True)

        try:
            if self._limit is None:
                return await asyncio.wait_for(run(), limit)
            async with self._limit:
                return await asyncio.wait_for(run(), limit)
        except asyncio.TimeoutError:
            controller.abort()
            raise TransportTimeout(f"{_where(request)} timed out after {limit:g} s", request.url) from None
        except asyncio.CancelledError:
            controller.abort()
            raise

    @asynccontextmanager
    async def stream(
        self, request: Request, deadline: Deadline, silence: Optional[float] = None
    ) -> AsyncIterator[StreamResponse]:
        """``async with`` one request whose answer body is read from a ReadableStream; every wait is bounded by
        ``deadline`` and by ``silence`` (default ``network_timeout``)."""
        JsException = pyodide_ffi().JsException

        controller = js_module().AbortController.new()
        silence = self.network_timeout if silence is None else silence
        try:
            response = await asyncio.wait_for(self._fetch(request, controller), deadline.shortest(silence))
        except asyncio.TimeoutError:
            controller.abort()
            raise TransportTimeout(f"{_where(request)} timed out", request.url) from None
        reader = response.body.getReader() if response.body else None

        async def chunks() -> AsyncIterator[bytes]:
            if reader is None:
                return
            while True:
                try:  # at most `silence` s of silence, and never past the deadline
                    item = await asyncio.wait_for(reader.read(), deadline.shortest(silence))
                except asyncio.TimeoutError:
                    controller.abort()
                    raise TransportTimeout(f"{_where(request)}: no data in time", request.url) from None
                except JsException as exc:
                    raise _error(exc, request) from None
                if item.done:
                    return
                yield item.value.to_bytes()

        try:
            yield StreamResponse(int(response.status), _headers(response), request.url, chunks())
        finally:
            controller.abort()  # frees the connection if the body was not read to the end

    async def close(self) -> None:
        """Mark the transport closed (the browser owns the connections)."""
        self._closed = True


def _headers(response: Any) -> Headers:
    js = js_module()
    return Headers(js.Object.fromEntries(response.headers.entries()).to_py())


def _where(request: Request) -> str:
    return f"{request.method} {redact_url(request.url)}"


def _error(exc: BaseException, request: Request) -> TransportError:
    """A JavaScript error of fetch, by its name (transport/errors.py): our AbortController's abort is a timeout;
    anything else failed, most often CORS."""
    return browser_error(exc, request, CORS_HINT)
