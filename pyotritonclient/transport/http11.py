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
import re
import ssl as _ssl
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, AsyncIterator, Deque, Dict, List, Mapping, Optional, Set, Tuple
from urllib.parse import urlsplit

from ..protocol.endpoints import redact_url
from ..protocol.inference import decompress
from .base import BodyParts, Headers, Response, StreamResponse, TransportError
from .tls import MAX_RESPONSE_BYTES, make_ssl_context

MAX_HEAD = 64 * 1024  # status line and headers of one response
SMALL_BODY = 64 * 1024  # joined with the head into one write
WRITE_SLICE = 1024 * 1024  # large parts go out in slices, waiting for the socket between them
_STATUS = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: [^\r\n]*)?")
_Key = Tuple[str, str, int]


class _Exchange:
    """One response being received: its head, then its body (whole, or piece by piece for a stream)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, streaming: bool, limit: int) -> None:
        self.streaming = streaming
        self.limit = limit
        self.head: asyncio.Future[Tuple[int, Headers]] = loop.create_future()
        self.done: asyncio.Future[Any] = loop.create_future()  # the whole body (bytes-like), or None for a stream
        self.pieces: Deque[bytes] = deque()  # stream mode: received, not yet read
        self.more: Optional[asyncio.Future[None]] = None  # stream mode: a reader waiting for pieces
        self.received_any = False

    def fail(self, exc: BaseException) -> None:
        for future in (self.head, self.done):
            if not future.done():
                future.set_exception(exc)
                future.exception()  # a stream whose reader left does not log it
        self._wake()

    def push(self, piece: bytes) -> None:
        self.pieces.append(piece)
        self._wake()

    def _wake(self) -> None:
        if self.more is not None and not self.more.done():
            self.more.set_result(None)


class _Connection(asyncio.BufferedProtocol):
    """One keep-alive connection: writes requests, parses responses into the current ``_Exchange``."""

    def __init__(self, owner: Http11Transport, key: _Key) -> None:
        self.owner = owner
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.transport: Optional[asyncio.Transport] = None
        self.lost = False
        self.exchange: Optional[_Exchange] = None
        self.reused = False
        self.last_activity = self.loop.time()
        self.watchdog: Optional[asyncio.TimerHandle] = None
        self._writable: Optional[asyncio.Future[None]] = None
        self._head = bytearray(4096)  # kept from answer to answer (a long head grows it; it shrinks back)
        self._scratch = bytearray(64 * 1024)
        self._reset_parser()

    # -- asyncio callbacks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.lost = True
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        exchange = self.exchange
        if exchange is not None:
            if self._mode == "close" and exc is None:
                self._finish()  # the body ran until the server closed: complete
            else:
                reason = f"the server closed the connection ({exc})" if exc else "the server closed the connection"
                if exchange.received_any:
                    reason += " in the middle of its answer"
                exchange.fail(_Disconnected(reason, not exchange.received_any))
        self.owner._forget(self)

    def pause_writing(self) -> None:
        self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._mode == "length" and self._body is not None:
            return memoryview(self._body)[self._filled :]
        if self._mode == "head":
            if self._head_len >= len(self._head):
                self._head.extend(bytes(len(self._head)))  # grows to MAX_HEAD at most (checked when parsing)
            return memoryview(self._head)[self._head_len :]
        return memoryview(self._scratch)

    def buffer_updated(self, nbytes: int) -> None:
        self.last_activity = self.loop.time()
        exchange = self.exchange
        if exchange is None:  # bytes nobody asked for: this connection cannot be trusted any more
            self.abort()
            return
        exchange.received_any = True
        try:
            if self._mode == "head":
                self._head_len += nbytes
                self._parse_head()
            elif self._mode == "length":
                self._filled += nbytes
                if self._filled >= self._expected:
                    self._finish()
            else:
                self._feed(bytes(self._scratch[:nbytes]))
        except _BadResponse as exc:
            exchange.fail(exc)
            self.abort()

    def eof_received(self) -> Optional[bool]:
        return False  # close; connection_lost completes a read-until-close body

    # -- parsing ---------------------------------------------------------------------------------

    def _reset_parser(self) -> None:
        self._mode = "head"
        if len(self._head) > 4096:
            self._head = bytearray(4096)
        self._head_len = 0
        self._body: Optional[bytearray] = None
        self._filled = 0
        self._expected = 0
        self._chunks: List[bytes] = []
        self._size = 0
        self._pending = bytearray()
        self._chunk_left = -1
        self._keep_alive = True

    def _parse_head(self) -> None:
        end = self._head.find(b"\r\n\r\n", 0, self._head_len)
        if end < 0:
            if self._head_len >= MAX_HEAD:
                raise _BadResponse(f"response headers longer than {MAX_HEAD} bytes")
            return
        data = memoryview(self._head)[: self._head_len]
        lines = bytes(data[:end]).split(b"\r\n")
        match = _STATUS.fullmatch(lines[0])
        if match is None:
            raise _BadResponse(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(match.group(2))
        headers = Headers()
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip() or b" " in name:
                raise _BadResponse(f"bad header line {line[:80]!r}")
            key = name.decode("latin-1").lower()
            text = value.strip().decode("latin-1")
            if key in headers and key == "content-length" and headers[key] != text:
                raise _BadResponse("two different Content-Length headers")
            headers[key] = text if key not in headers or key == "content-length" else headers[key] + ", " + text
        connection = (headers.get("connection") or "").lower()
        self._keep_alive = (match.group(1) == b"1" and "close" not in connection) or "keep-alive" in connection
        rest = bytes(data[end + 4 :])
        exchange = self.exchange
        assert exchange is not None
        encoding = (headers.get("transfer-encoding") or "").lower()
        if encoding:
            if encoding != "chunked":
                raise _BadResponse(f"unsupported Transfer-Encoding {encoding!r}")
            self._mode = "chunked"
        elif headers.get("content-length") is not None:
            text = headers["content-length"]
            if not text.isdigit() or len(text) > 19:
                raise _BadResponse(f"bad Content-Length {text[:40]!r}")
            self._expected = int(text)
            if self._expected > exchange.limit:
                raise _TooLarge(
                    f"the answer is {self._expected} bytes, more than max_response_bytes ({exchange.limit})"
                )
            self._mode = "length"
        elif status in (204, 304) or 100 <= status < 200:
            self._mode = "length"
            self._expected = 0
        else:
            self._mode = "close"
            self._keep_alive = False
        if not exchange.head.done():
            exchange.head.set_result((status, headers))
        if self._mode == "length":
            if exchange.streaming:
                self._mode = "stream-length"
                self._feed(rest)
                if self._expected == 0:
                    self._finish()
                return
            if len(rest) >= self._expected or self._expected <= len(self._scratch):
                self._body = bytearray(rest)
                self._filled = len(rest)
                if self._filled >= self._expected:
                    self._finish()
                else:  # small: the rest arrives into the scratch buffer
                    self._mode = "small"
                return
            self._body = bytearray(self._expected)  # received in place: no copy, no join
            self._body[: len(rest)] = rest
            self._filled = len(rest)
            if self._filled >= self._expected:
                self._finish()
            return
        self._feed(rest)

    def _feed(self, data: bytes) -> None:
        """Bytes of a body that is chunked, read until close, small, or streamed."""
        exchange = self.exchange
        assert exchange is not None
        if self._mode == "small":
            assert self._body is not None
            self._body += data
            self._filled = len(self._body)
            if self._filled >= self._expected:
                if self._filled > self._expected:
                    raise _BadResponse("more bytes than Content-Length")
                self._finish()
            return
        if self._mode == "stream-length":
            self._filled += len(data)
            if self._filled > self._expected:
                raise _BadResponse("more bytes than Content-Length")
            if data:
                exchange.push(data)
            if self._filled == self._expected:
                self._finish()
            return
        if self._mode == "close":
            self._body_piece(data)
            return
        self._pending += data
        while True:
            if self._chunk_left == -1:  # a chunk-size line
                end = self._pending.find(b"\r\n")
                if end < 0:
                    if len(self._pending) > 1024:
                        raise _BadResponse("chunk size line too long")
                    return
                size_text = bytes(self._pending[:end]).split(b";", 1)[0].strip()
                if not size_text or len(size_text) > 15 or not re.fullmatch(rb"[0-9a-fA-F]+", size_text):
                    raise _BadResponse(f"bad chunk size {size_text[:20]!r}")
                del self._pending[: end + 2]
                self._chunk_left = int(size_text, 16)
                if self._chunk_left == 0:
                    self._chunk_left = -2  # trailers follow
            if self._chunk_left == -2:
                end = self._pending.find(b"\r\n")
                if end < 0:
                    if len(self._pending) > MAX_HEAD:
                        raise _BadResponse("trailers too long")
                    return
                del self._pending[: end + 2]
                if end == 0:
                    self._finish()
                    return
                continue
            if len(self._pending) < self._chunk_left + 2:
                if self._chunk_left and len(self._pending) > 0 and exchange.streaming:
                    take = min(len(self._pending), self._chunk_left)  # hand a stream what has come
                    self._body_piece(bytes(self._pending[:take]))
                    del self._pending[:take]
                    self._chunk_left -= take
                return
            piece = bytes(self._pending[: self._chunk_left])
            if self._pending[self._chunk_left : self._chunk_left + 2] != b"\r\n":
                raise _BadResponse("a chunk does not end with CRLF")
            del self._pending[: self._chunk_left + 2]
            self._chunk_left = -1
            if piece:
                self._body_piece(piece)

    def _body_piece(self, piece: bytes) -> None:
        exchange = self.exchange
        assert exchange is not None
        self._size += len(piece)
        if self._size > exchange.limit:
            raise _TooLarge(f"the answer is more than max_response_bytes ({exchange.limit})")
        if exchange.streaming:
            exchange.push(piece)
        else:
            self._chunks.append(piece)

    def _finish(self) -> None:
        exchange = self.exchange
        assert exchange is not None
        if exchange.streaming:
            body: Any = None
        elif self._mode in ("chunked", "close"):
            body = b"".join(self._chunks)
        else:
            body = self._body if self._body is not None else b""
        keep = self._keep_alive and self._mode != "close"
        self.exchange = None
        self._reset_parser()
        if not exchange.done.done():
            exchange.done.set_result(body)
        exchange._wake()
        if keep and not self.lost:
            self.owner._release(self)
        else:
            self.abort()

    # -- requests --------------------------------------------------------------------------------

    def start(self, streaming: bool, limit: int) -> _Exchange:
        self.exchange = _Exchange(self.loop, streaming, limit)
        self.last_activity = self.loop.time()
        if self.watchdog is None:
            self._arm(self.owner.network_timeout)
        return self.exchange

    def _arm(self, delay: float) -> None:
        self.watchdog = self.loop.call_later(max(delay, 0.0), self._check)

    def _check(self) -> None:
        """The one timer of a connection: silence during an exchange, or a keep-alive that has lasted too long."""
        self.watchdog = None
        if self.lost:
            return
        now = self.loop.time()
        if self.exchange is not None:
            quiet = now - self.last_activity
            if quiet >= self.owner.network_timeout:
                self.exchange.fail(_Silence(f"no data for {self.owner.network_timeout} s"))
                self.abort()
            else:
                self._arm(self.owner.network_timeout - quiet)
        elif now - self.last_activity >= self.owner.keepalive_timeout:
            self.abort()
        else:
            self._arm(self.owner.keepalive_timeout - (now - self.last_activity))

    async def write(self, head: bytes, parts: BodyParts) -> None:
        transport = self.transport
        assert transport is not None
        total = sum(memoryview(p).nbytes for p in parts)
        if total <= SMALL_BODY:
            transport.write(head + b"".join(parts))
            return
        transport.write(head)
        for part in parts:
            view = memoryview(part).cast("B")
            for start in range(0, len(view), WRITE_SLICE):
                if self.lost:
                    return  # connection_lost has failed the exchange
                transport.write(view[start : start + WRITE_SLICE])
                if self._writable is not None:
                    await self._writable

    def abort(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.abort()
        self.lost = True
        self.owner._forget(self)


class _BadResponse(Exception):
    """The server's bytes are not a well-formed HTTP/1.1 response."""


class _TooLarge(_BadResponse):
    """The answer is past max_response_bytes."""


class _Disconnected(Exception):
    def __init__(self, message: str, before_answer: bool) -> None:
        super().__init__(message)
        self.before_answer = before_answer


class _Silence(Exception):
    """No data for network_timeout seconds."""


class Http11Transport:
    """Pooled HTTP/1.1 keep-alive transport on asyncio protocols; ``stats`` counts requests and connections."""

    def __init__(
        self,
        concurrency: int = 100,
        connection_timeout: float = 60.0,
        network_timeout: float = 60.0,
        ssl_context: Optional[_ssl.SSLContext] = None,
        insecure: bool = False,
        ca_certs: Optional[str] = None,
        certfile: Optional[str] = None,
        keyfile: Optional[str] = None,
        keepalive_timeout: float = 30.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.keepalive_timeout = keepalive_timeout
        self.max_response_bytes = max_response_bytes
        tls = make_ssl_context(ssl_context, insecure, ca_certs, certfile, keyfile)
        self._tls: Optional[_ssl.SSLContext] = tls if isinstance(tls, _ssl.SSLContext) else None
        self._default_tls = tls is True
        self._closed = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._idle: Dict[_Key, List[_Connection]] = {}
        self._all: Set[_Connection] = set()
        self._slots: Optional[asyncio.Semaphore] = None
        self._closer: Optional[AsyncGenerator[None, None]] = None
        self._urls: Dict[str, Tuple[_Key, str, str]] = {}
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

        async def at_shutdown() -> AsyncGenerator[None, None]:
            try:
                yield
            finally:
                self._drop_all()

        closer = at_shutdown()
        try:
            closer.asend(None).send(None)
        except StopIteration:
            self._closer = closer
        except Exception:
            pass

    def _release(self, conn: _Connection) -> None:
        if self._closed or conn.lost:
            conn.abort()
            return
        conn.reused = True
        self._idle.setdefault(conn.key, []).append(conn)

    def _forget(self, conn: _Connection) -> None:
        self._all.discard(conn)
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    async def _connect(self, key: _Key, url: str) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls: Any = None
        if scheme == "https":
            tls = self._tls or _ssl.create_default_context()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self, key), host, port, ssl=tls, server_hostname=host if tls else None
                ),
                self.connection_timeout,
            )
        except asyncio.TimeoutError:
            raise TransportError(
                f"cannot connect to {redact_url(url)}: no connection within {self.connection_timeout} s",
                url,
                timeout=True,
            ) from None
        except OSError as exc:
            raise TransportError(f"cannot connect to {redact_url(url)}: {exc}", url) from None
        self.stats["connections_created"] += 1
        self._all.add(conn)
        return conn

    async def _connection(self, key: _Key, url: str) -> _Connection:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.lost and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return await self._connect(key, url)

    # -- requests --------------------------------------------------------------------------------

    def _target(self, method: str, url: str) -> Tuple[_Key, str, str]:
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

    def _prepare(self, method: str, url: str, headers: Mapping[str, str], body: BodyParts) -> Tuple[_Key, bytes]:
        if self._closed:
            raise TransportError("this client is closed", url, closed=True)
        key, target, host = self._target(method, url)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        names = set()
        for name, value in headers.items():
            if any(c in name + value for c in "\r\n\0"):
                raise TransportError(f"header {name!r}: CR, LF or NUL in a header", url)
            names.add(name.lower())
            lines.append(f"{name}: {value}")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {sum(memoryview(p).nbytes for p in body)}")
            if "content-type" not in names:
                lines.append("Content-Type: application/octet-stream")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:
            raise TransportError(
                f"{method} {redact_url(url)}: a header holds characters outside Latin-1", url
            ) from None
        return key, head

    async def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: BodyParts, streaming: bool
    ) -> Tuple[_Connection, _Exchange]:
        key, head = self._prepare(method, url, headers, body)
        slots = self._bind()
        await slots.acquire()
        try:
            for attempt in (1, 2):
                conn = await self._connection(key, url)
                exchange = conn.start(streaming, self.max_response_bytes)
                if attempt == 1:
                    self.stats["requests"] += 1
                try:
                    await conn.write(head, body)
                    await exchange.head
                except _Disconnected as exc:
                    # A kept-alive connection the server closed meanwhile: once more on a new one.
                    if attempt == 1 and conn.reused and exc.before_answer:
                        continue
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
        encoding = answer_headers.get("content-encoding")
        if encoding and encoding != "identity" and encoding in headers.get("Accept-Encoding", ""):
            try:
                data = decompress(data, encoding, self.max_response_bytes)
            except Exception as exc:
                raise TransportError(
                    f"{method} {redact_url(url)}: cannot decode the {encoding} answer: {exc}", url
                ) from None
            return Response(status, answer_headers, data, url, decoded=True)
        return Response(status, answer_headers, data, url)

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


def _error(exc: Exception, method: str, url: str, timeout: Optional[float]) -> Exception:
    """What a caller gets for an exchange that failed: a TransportError that says how (or ``exc`` itself)."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, asyncio.TimeoutError):
        limit = f" after {timeout} s" if timeout is not None else ""
        return TransportError(f"{method} {redact_url(url)} timed out{limit}", url, timeout=True)
    if isinstance(exc, _Silence):
        return TransportError(f"{method} {redact_url(url)} timed out: {exc}", url, timeout=True)
    if isinstance(exc, _BadResponse):
        return TransportError(f"{method} {redact_url(url)}: bad HTTP response: {exc}", url)
    if isinstance(exc, _Disconnected):
        return TransportError(f"{method} {redact_url(url)} failed: {exc}", url)
    if isinstance(exc, OSError):
        return TransportError(f"{method} {redact_url(url)} failed: {exc}", url)
    return exc
