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
from typing import Any, AsyncGenerator, AsyncIterator, Dict, List, Optional, Set, Tuple

from ..protocol.deadline import Deadline
from ..protocol.http11 import write_head
from ..protocol.request import Request
from ..protocol.urls import redact_url, target_of
from .asyncio_connection import Connection, Exchange, Key
from .base import (
    Response,
    StreamResponse,
    at_loop_shutdown,
    decoded,
)
from .errors import (
    HTTP11,
    ConnectTimeout,
    Disconnected,
    NotSent,
    TransportClosed,
    TransportError,
    TransportTimeout,
    map_error,
)
from .tls import SocketOptions


class Http11Transport(SocketOptions):
    """Pooled HTTP/1.1 keep-alive transport on asyncio protocols; ``stats`` counts requests and connections."""

    def _start(self) -> None:
        self._tls: Optional[_ssl.SSLContext] = self.tls if isinstance(self.tls, _ssl.SSLContext) else None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._idle: Dict[Key, List[Connection]] = {}
        self._all: Set[Connection] = set()
        self._slots: Optional[asyncio.Semaphore] = None
        self._closer: Optional[AsyncGenerator[None, None]] = None

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
            raise ConnectTimeout(
                f"cannot connect to {redact_url(url)}: no connection within {self.connection_timeout} s", url
            ) from None
        except OSError as exc:  # refused, unreachable, TLS handshake failed: the request was never sent
            raise NotSent(f"cannot connect to {redact_url(url)}: {exc}", url) from None
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

    async def _exchange(self, request: Request, streaming: bool) -> Tuple[Connection, Exchange]:
        if self._closed:
            raise TransportClosed("this client is closed", request.url)
        url, target = request.url, target_of(request.url)
        key, head = target.origin, write_head(request, target)
        total = request.body_length()
        slots = self._bind()
        await slots.acquire()
        try:
            maybe_received = False  # a written attempt that the server may have read
            for attempt in (1, 2):
                try:  # the second attempt on a new connection: the other idle ones are likely closed too
                    conn = await (self._connection(key, url) if attempt == 1 else self._connect(key, url))
                except NotSent as exc:
                    if maybe_received:  # (the first attempt may have run: this one's refusal does not say more)
                        raise TransportError(str(exc), url) from None
                    raise
                exchange = conn.start(streaming, self.max_response_bytes, request.method)
                if attempt == 1:
                    self.stats["requests"] += 1
                try:
                    await conn.write(head, request.body, total)
                    await exchange.head
                except Disconnected as exc:
                    # A reset before any answer: the server closed with the request unread, so it never ran.
                    maybe_received = maybe_received or not exc.unread
                    # A kept-alive connection the server closed meanwhile: once more on a new one.
                    if attempt == 1 and exc.before_answer and (conn.reused or exc.unread):
                        continue
                    if not maybe_received:
                        raise NotSent(f"{request.method} {redact_url(url)} failed: {exc}", url) from None
                    raise
                except BaseException:
                    conn.abort()
                    raise
                return conn, exchange
            raise AssertionError("unreachable")
        except BaseException:
            slots.release()
            raise

    async def send(self, request: Request, deadline: Deadline) -> Response:
        """Send one request and read the whole answer (refused past ``max_response_bytes``) within what is left
        of ``deadline``."""
        try:
            limit = deadline.request_timeout()
            if limit is None:
                return await self._send(request)
            return await asyncio.wait_for(self._send(request), limit)
        except Exception as exc:
            mapped = map_error(exc, HTTP11, request, deadline.timeout)
            if mapped is exc:
                raise
            raise mapped from exc

    async def _send(self, request: Request) -> Response:
        conn, exchange = await self._exchange(request, streaming=False)
        try:
            status, answer_headers = exchange.head.result()
            data = await exchange.done
        except BaseException:
            conn.abort()
            raise
        finally:
            assert self._slots is not None
            self._slots.release()
        return decoded(Response(status, answer_headers, data, request.url), request, self.max_response_bytes)

    @asynccontextmanager
    async def stream(
        self, request: Request, deadline: Deadline, silence: Optional[float] = None
    ) -> AsyncIterator[StreamResponse]:
        """``async with`` one request whose answer arrives piece by piece; every wait is bounded by ``deadline``
        and by ``silence`` (default ``network_timeout``), the longest pause allowed."""
        silence = self.network_timeout if silence is None else silence
        try:
            conn, exchange = await asyncio.wait_for(self._exchange(request, True), deadline.shortest(silence))
        except Exception as exc:
            mapped = map_error(exc, HTTP11, request, silence if deadline.at is None else deadline.timeout)
            if mapped is exc:
                raise
            raise mapped from exc
        status, answer_headers = exchange.head.result()
        where = f"{request.method} {redact_url(request.url)}"

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                if exchange.pieces:
                    yield exchange.pieces.popleft()
                    continue
                if exchange.done.done():
                    try:
                        exchange.done.result()
                    except Exception as exc:
                        mapped = map_error(exc, HTTP11, request, silence)
                        if mapped is exc:
                            raise
                        raise mapped from exc
                    return
                exchange.more = conn.loop.create_future()
                try:
                    await asyncio.wait_for(exchange.more, deadline.shortest(silence))
                except asyncio.TimeoutError:
                    left = deadline.left()
                    why = (
                        f"no data for {silence} s"
                        if left is None or left > 0
                        else f"not done within {deadline.timeout} s"
                    )
                    raise TransportTimeout(f"{where} timed out: {why}", request.url) from None
                finally:
                    exchange.more = None

        try:
            yield StreamResponse(status, answer_headers, request.url, chunks())
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
        """Close the pooled connections; later requests fail with TransportClosed (ClientClosedError)."""
        self._closed = True
        self._drop_all()
