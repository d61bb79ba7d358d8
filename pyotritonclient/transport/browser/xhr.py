"""Blocking browser transport: synchronous XMLHttpRequest, which browsers allow in web workers only.

Used by ``pyotritonclient.sync`` in a Pyodide web worker (JupyterLite's kernel runs in one): each request
blocks the worker until the answer is complete, so the async client's coroutines finish without ever
waiting on the event loop. Bodies are binary both ways (``responseType = "arraybuffer"``). No streaming:
``generate_stream`` needs the async client there.
"""

from __future__ import annotations

from typing import Any, Optional

from ...platform import js_module, pyodide_ffi
from ...protocol.deadline import Deadline
from ...protocol.request import Request
from ...protocol.urls import redact_url
from ..base import DEFAULT_NETWORK_TIMEOUT, Headers, Response
from ..errors import TransportClosed, TransportError, browser_error
from .fetch import CORS_HINT, FORBIDDEN_HEADERS, js_body


class SyncXHRTransport:
    """A transport whose requests complete before ``request`` returns (it never suspends)."""

    def __init__(self, network_timeout: float = DEFAULT_NETWORK_TIMEOUT, **_ignored: Any) -> None:
        self.network_timeout = network_timeout
        self._closed = False
        self.stats = {"requests": 0, "connections_created": 0}

    async def send(self, request: Request, deadline: Deadline) -> Response:
        """Send one request and block until its whole answer is here (or the deadline passed)."""
        url = request.url
        if self._closed:
            raise TransportClosed("this client is closed", url)
        js, ffi = js_module(), pyodide_ffi()
        limit = deadline.shortest(None if deadline.at is not None else self.network_timeout) or 0.0
        xhr = js.XMLHttpRequest.new()
        xhr.open(request.method, url, False)
        xhr.responseType = "arraybuffer"
        xhr.timeout = max(1, int(limit * 1000))
        for key, value in request.headers.items():
            if key.lower() not in FORBIDDEN_HEADERS:
                xhr.setRequestHeader(key, value)
        data = js_body(request.body) if request.body else None
        self.stats["requests"] += 1
        where = f"{request.method} {redact_url(url)}"
        try:
            xhr.send(data)
        except ffi.JsException as exc:  # by the DOMException's name: a sync XHR past its timeout is "TimeoutError"
            raise browser_error(exc, request, CORS_HINT) from None
        if int(xhr.status) == 0:
            raise TransportError(f"{where} failed: {CORS_HINT}", url)
        payload = js.Uint8Array.new(xhr.response).to_bytes() if xhr.response else b""
        return Response(int(xhr.status), _headers(str(xhr.getAllResponseHeaders())), payload, url, decoded=True)

    def stream(self, request: Request, deadline: Deadline, silence: Optional[float] = None) -> Any:
        """Not available: synchronous requests cannot deliver a body in pieces."""
        raise TransportError(
            "streaming needs the async client in the browser (await generate_stream(...))", request.url
        )

    async def close(self) -> None:
        """Nothing to release; later requests fail."""
        self._closed = True


def _headers(text: str) -> Headers:
    headers = Headers()
    for line in text.split("\r\n"):
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip()] = value.strip()
    return headers
