"""CPython transport on asyncio protocols: HTTP/1.1 keep-alive, one write per small request, bodies read in place.

The default in CPython (``aiohttp.py`` is the alternative, ``PYOTRITON_TRANSPORT=aiohttp``). Per request it does
what the exchange needs and no more: the head and small bodies go out in one ``write``, large parts are written
as views without joining, a response with a length is received straight into one buffer of that length
(``BufferedProtocol``), and no timer is made per request (one watchdog per connection checks for silence).

Every length and header from the server is checked before it is used; nothing is buffered past
``max_response_bytes``. A connection whose exchange was cut short (cancellation, a timeout, an error) is closed,
never reused.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, AsyncIterator, Dict, List, Mapping, Optional, Set, Tuple
from urllib.parse import urlsplit

from ..protocol.http11 import BadResponse, safe_header
from ..protocol.urls import redact_url
from .base import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECTION_TIMEOUT,
    DEFAULT_NETWORK_TIMEOUT,
    BodyParts,
    ErrorRule,
    Response,
    StreamResponse,
    TransportError,
    at_loop_shutdown,
    body_length,
    check_concurrency,
    decoded,
    map_error,
)
from .http11_connection import Connection, Disconnected, Exchange, Key, Silence
from .tls import MAX_RESPONSE_BYTES, make_ssl_context


class Http11Transport:
    """Pooled HTTP/1.1 keep-alive transport on asyncio protocols; ``stats`` counts requests and connections."""

    def __init__(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT,
        network_timeout: float = DEFAULT_NETWORK_TIMEOUT,
        ssl_context: Optional[_ssl.SSLContext] = None,
        insecure: bool = False,
        ca_certs: Optional[str] = None,
        certfile: Optional[str] = None,
        keyfile: Optional[str] = None,
        keepalive_timeout: float = 30.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        check_concurrency(concurrency)
        self.concurrency = concurrency
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.keepalive_timeout = keepalive_timeout
        self.max_response_bytes = max_response_bytes
        tls = make_ssl_context(ssl_context, insecure, ca_certs, certfile, keyfile)
        self._tls: Optional[_ssl.SSLContext] = tls if isinstance(tls, _ssl.SSLContext) else None
        self._closed = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._idle: Dict[Key, List[Connection]] = {}
        self._all: Set[Connection] = set()
        self._slots: Optional[asyncio.Semaphore] = None
        self._closer: Optional[AsyncGenerator[None, None]] = None
        self._urls: Dict[str, Tuple[Key, str, str]] = {}
        self.stats: Dict[str, int] = {"requests": 0, "connections_created": 0}

    # -- pool ------------------------------------------------------------------------------------

    def _bind(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._slots is None:
            for conn in list(self._all):  # connections of a loop that has ended
                if conn.transport is not None and not conn.loop.is_closed():
                    conn.transport.abort()
            self._all.clear()
            self._idle.clear()
            self._loop = loop
            self._slots = asyncio.Semaphore(self.concurrency)
            self._close_with_loop()
        return self._slots

    def _close_with_loop(self) -> None:
        """Close the pool when its event loop shuts down, for code that never calls ``close()``."""

        async def drop_all() -> None:
            self._drop_all()

        self._closer = at_loop_shutdown(drop_all)

    def _release(self, conn: Connection) -> None:
        if self._closed or conn.lost:
            conn.abort()
            return
        conn.reused = True
        self._idle.setdefault(conn.key, []).append(conn)

    def _forget(self, conn: Connection) -> None:
        self._all.discard(conn)
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    async def _connect(self, key: Key, url: str) -> Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls: Any = None
        if scheme == "https":
            tls = self._tls or _ssl.create_default_context()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Connection(self, key), host, port, ssl=tls, server_hostname=host if tls else None
                ),
                self.connection_timeout,
            )
        except asyncio.TimeoutError:
            raise TransportError(
                f"cannot connect to {redact_url(url)}: no connection within {self.connection_timeout} s",
                url,
                timeout=True,
                unsent=True,
            ) from None
        except OSError as exc:  # refused, unreachable, TLS handshake failed: the request was never sent
            raise TransportError(f"cannot connect to {redact_url(url)}: {exc}", url, unsent=True) from None
        self.stats["connections_created"] += 1
        self._all.add(conn)
        return conn

    async def _connection(self, key: Key, url: str) -> Connection:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.lost and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return await self._connect(key, url)

    # -- requests --------------------------------------------------------------------------------

    def _target(self, method: str, url: str) -> Tuple[Key, str, str]:
        """(scheme, host, port), the request target and the Host header of ``url`` (cached: URLs repeat)."""
        known = self._urls.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"{method} {redact_url(url)}: only http and https URLs are supported", url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        default_port = parts.port is None or parts.port == (443 if parts.scheme == "https" else 80)
        known = ((parts.scheme, parts.hostname, port), target, host if default_port else f"{host}:{port}")
        if len(self._urls) >= 256:
            self._urls.clear()
        self._urls[url] = known
        return known

    def _prepare(self, method: str, url: str, headers: Mapping[str, str], body: BodyParts) -> Tuple[Key, bytes, int]:
        """(pool key, the request's head, the body's length)."""
        if self._closed:
            raise TransportError("this client is closed", url, closed=True)
        total = body_length(body)
        key, target, host = self._target(method, url)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        names = set()
        for name, value in headers.items():
            if not safe_header(name, value):
                raise TransportError(f"header {name!r}: CR, LF or NUL in a header", url)
            names.add(name.lower())
            lines.append(f"{name}: {value}")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {total}")
            if "content-type" not in names:
                lines.append("Content-Type: application/octet-stream")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:
            raise TransportError(
                f"{method} {redact_url(url)}: a header holds characters outside Latin-1", url
            ) from None
        return key, head, total

    async def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: BodyParts, streaming: bool
    ) -> Tuple[Connection, Exchange]:
        key, head, total = self._prepare(method, url, headers, body)
        slots = self._bind()
        await slots.acquire()
        try:
            maybe_received = False  # a written attempt that the server may have read
            for attempt in (1, 2):
                try:  # the second attempt on a new connection: the other idle ones are likely closed too
                    conn = await (self._connection(key, url) if attempt == 1 else self._connect(key, url))
                except TransportError as exc:
                    exc.unsent = exc.unsent and not maybe_received
                    raise
                exchange = conn.start(streaming, self.max_response_bytes)
                if attempt == 1:
                    self.stats["requests"] += 1
                try:
                    await conn.write(head, body, total)
                    await exchange.head
                except Disconnected as exc:
                    # A reset before any answer: the server closed with the request unread, so it never ran.
                    maybe_received = maybe_received or not exc.unread
                    # A kept-alive connection the server closed meanwhile: once more on a new one.
                    if attempt == 1 and exc.before_answer and (conn.reused or exc.unread):
                        continue
                    if not maybe_received:
                        raise TransportError(f"{method} {redact_url(url)} failed: {exc}", url, unsent=True) from None
                    raise
                except BaseException:
                    conn.abort()
                    raise
                return conn, exchange
            raise AssertionError("unreachable")
        except BaseException:
            slots.release()
            raise

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: BodyParts = (),
        timeout: Optional[float] = None,
    ) -> Response:
        """Send one request and read the whole answer (refused past ``max_response_bytes``)."""
        try:
            if timeout is None:
                return await self._request(method, url, headers, body)
            return await asyncio.wait_for(self._request(method, url, headers, body), timeout)
        except Exception as exc:
            mapped = _error(exc, method, url, timeout)
            if mapped is exc:
                raise
            raise mapped from exc

    async def _request(self, method: str, url: str, headers: Mapping[str, str], body: BodyParts) -> Response:
        conn, exchange = await self._exchange(method, url, headers, body, streaming=False)
        try:
            status, answer_headers = exchange.head.result()
            data = await exchange.done
        except BaseException:
            conn.abort()
            raise
        finally:
            assert self._slots is not None
            self._slots.release()
        return decoded(Response(status, answer_headers, data, url), headers, self.max_response_bytes, method)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: BodyParts = (),
        timeout: Optional[float] = None,
    ) -> AsyncIterator[StreamResponse]:
        """``async with`` one request whose answer arrives piece by piece; ``timeout`` is the longest silence."""
        limit = self.network_timeout if timeout is None else timeout
        try:
            conn, exchange = await asyncio.wait_for(self._exchange(method, url, headers, body, streaming=True), limit)
        except Exception as exc:
            mapped = _error(exc, method, url, limit)
            if mapped is exc:
                raise
            raise mapped from exc
        status, answer_headers = exchange.head.result()

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                if exchange.pieces:
                    yield exchange.pieces.popleft()
                    continue
                if exchange.done.done():
                    try:
                        exchange.done.result()
                    except Exception as exc:
                        mapped = _error(exc, method, url, limit)
                        if mapped is exc:
                            raise
                        raise mapped from exc
                    return
                exchange.more = conn.loop.create_future()
                try:
                    await asyncio.wait_for(exchange.more, limit)
                except asyncio.TimeoutError:
                    raise TransportError(
                        f"{method} {redact_url(url)} timed out after {limit} s", url, timeout=True
                    ) from None
                finally:
                    exchange.more = None

        try:
            yield StreamResponse(status, answer_headers, url, chunks())
        finally:
            assert self._slots is not None
            self._slots.release()
            if not exchange.done.done():  # left before the end: the connection cannot be reused
                conn.abort()

    def _drop_all(self) -> None:
        for conn in list(self._all):
            if conn.transport is not None and not conn.lost:
                conn.transport.abort()
        self._all.clear()
        self._idle.clear()

    async def close(self) -> None:
        """Close the pooled connections; later requests fail with ClientClosedError."""
        self._closed = True
        self._drop_all()


ERRORS: List[ErrorRule] = [  # (order matters: asyncio.TimeoutError is an OSError on Python 3.11+)
    ((asyncio.TimeoutError,), "timeout", "{method} {url} timed out{limit}"),
    ((Silence,), "timeout", "{method} {url} timed out: {exc}"),
    ((BadResponse,), "failed", "{method} {url}: bad HTTP response: {exc}"),
    ((Disconnected, OSError), "failed", "{method} {url} failed: {exc}"),
]


def _error(exc: Exception, method: str, url: str, timeout: Optional[float]) -> BaseException:
    """What a caller gets for an exchange that failed: a TransportError that says how (or ``exc`` itself)."""
    return map_error(exc, ERRORS, method, url, timeout)
