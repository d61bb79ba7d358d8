"""One HTTP/1.1 keep-alive connection on an asyncio protocol: writes a request, parses the answer in place.

Used by ``http11.Http11Transport``, which pools these. Every length and header from the server is checked before
it is used; an answer with a length is received straight into one buffer of that length (``BufferedProtocol``).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import Any, Deque, List, Optional, Protocol, Tuple

from .base import BodyParts, Headers
from .http11_head import BadResponse, parse_head

MAX_HEAD = 64 * 1024  # status line and headers of one response
SMALL_BODY = 64 * 1024  # joined with the head into one write
WRITE_SLICE = 1024 * 1024  # large parts go out in slices, waiting for the socket between them
Key = Tuple[str, str, int]


class Pool(Protocol):
    """What a connection needs from its pool."""

    network_timeout: float
    keepalive_timeout: float

    def _release(self, conn: Connection) -> None: ...

    def _forget(self, conn: Connection) -> None: ...


class Exchange:
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


class Connection(asyncio.BufferedProtocol):
    """One keep-alive connection: writes requests, parses responses into the current ``Exchange``."""

    def __init__(self, owner: Pool, key: Key) -> None:
        self.owner = owner
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.transport: Optional[asyncio.Transport] = None
        self.lost = False
        self.exchange: Optional[Exchange] = None
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
                exchange.fail(Disconnected(reason, not exchange.received_any))
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
        except BadResponse as exc:
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
                raise BadResponse(f"response headers longer than {MAX_HEAD} bytes")
            return
        data = memoryview(self._head)[: self._head_len]
        http11, status, headers = parse_head(bytes(data[:end]))
        connection = (headers.get("connection") or "").lower()
        self._keep_alive = (http11 and "close" not in connection) or "keep-alive" in connection
        rest = bytes(data[end + 4 :])
        exchange = self.exchange
        assert exchange is not None
        encoding = (headers.get("transfer-encoding") or "").lower()
        if encoding:
            if encoding != "chunked":
                raise BadResponse(f"unsupported Transfer-Encoding {encoding!r}")
            self._mode = "chunked"
        elif headers.get("content-length") is not None:
            text = headers["content-length"]
            if not text.isdigit() or len(text) > 19:
                raise BadResponse(f"bad Content-Length {text[:40]!r}")
            self._expected = int(text)
            if self._expected > exchange.limit:
                raise TooLarge(f"the answer is {self._expected} bytes, more than max_response_bytes ({exchange.limit})")
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
                    raise BadResponse("more bytes than Content-Length")
                self._finish()
            return
        if self._mode == "stream-length":
            self._filled += len(data)
            if self._filled > self._expected:
                raise BadResponse("more bytes than Content-Length")
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
                        raise BadResponse("chunk size line too long")
                    return
                size_text = bytes(self._pending[:end]).split(b";", 1)[0].strip()
                if not size_text or len(size_text) > 15 or not re.fullmatch(rb"[0-9a-fA-F]+", size_text):
                    raise BadResponse(f"bad chunk size {size_text[:20]!r}")
                del self._pending[: end + 2]
                self._chunk_left = int(size_text, 16)
                if self._chunk_left == 0:
                    self._chunk_left = -2  # trailers follow
            if self._chunk_left == -2:
                end = self._pending.find(b"\r\n")
                if end < 0:
                    if len(self._pending) > MAX_HEAD:
                        raise BadResponse("trailers too long")
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
                raise BadResponse("a chunk does not end with CRLF")
            del self._pending[: self._chunk_left + 2]
            self._chunk_left = -1
            if piece:
                self._body_piece(piece)

    def _body_piece(self, piece: bytes) -> None:
        exchange = self.exchange
        assert exchange is not None
        self._size += len(piece)
        if self._size > exchange.limit:
            raise TooLarge(f"the answer is more than max_response_bytes ({exchange.limit})")
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

    def start(self, streaming: bool, limit: int) -> Exchange:
        self.exchange = Exchange(self.loop, streaming, limit)
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
                self.exchange.fail(Silence(f"no data for {self.owner.network_timeout} s"))
                self.abort()
            else:
                self._arm(self.owner.network_timeout - quiet)
        elif now - self.last_activity >= self.owner.keepalive_timeout:
            self.abort()
        else:
            self._arm(self.owner.keepalive_timeout - (now - self.last_activity))

    async def write(self, head: bytes, parts: BodyParts, total: int) -> None:
        """The head, then the body: joined when small (one write), else as views in slices."""
        transport = self.transport
        assert transport is not None
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


class TooLarge(BadResponse):
    """The answer is past max_response_bytes."""


class Disconnected(Exception):
    """The server closed the connection; ``before_answer``: before any byte of the answer came."""

    def __init__(self, message: str, before_answer: bool) -> None:
        super().__init__(message)
        self.before_answer = before_answer


class Silence(Exception):
    """No data for network_timeout seconds."""
