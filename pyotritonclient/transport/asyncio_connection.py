"""One HTTP/1.1 keep-alive connection on an asyncio protocol: writes a request, receives the answer.

Used by ``http11.Http11Transport``, which pools these. The parsing is protocol/http11.py's (sans-I/O): the head,
the framing, the body readers. What is done here is I/O: an answer with a length is received straight into one
buffer of that length (``BufferedProtocol``, no copy, no join); other bodies go through their reader.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Deque, List, Optional, Protocol, Tuple

from ..protocol.http11 import MAX_HEAD, READERS, BadResponse, ChunkedReader, CloseReader, Reader, framing, parse_head
from ..protocol.request import BodyParts
from .base import Headers
from .errors import Disconnected, Silence

SMALL_BODY = 64 * 1024  # joined with the head into one write
WRITE_SLICE = 1024 * 1024  # large parts go out in slices, waiting for the socket between them
# A body of known length is received into a buffer of at most this much at first, which then grows by as much
# as has come (at least this much) whenever it is full: never more than twice what came, plus this step; one
# allocation for the usual answers (growing in small steps cost a 64 MB answer 7 %).
BODY_STEP = 64 * 1024 * 1024
Key = Tuple[str, str, int]


class Pool(Protocol):
    """What a connection needs from its pool."""

    network_timeout: float
    keepalive_timeout: float

    def _release(self, conn: Connection) -> None: ...

    def _forget(self, conn: Connection) -> None: ...


class Exchange:
    """One response being received: its head, then its body (whole, or piece by piece for a stream)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, streaming: bool, limit: int, method: str = "GET") -> None:
        self.streaming = streaming
        self.limit = limit
        self.method = method  # (the answer to a HEAD has no body)
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
            if isinstance(self._reader, CloseReader) and exc is None:
                self._reader.eof()
                self._finish()  # the body ran until the server closed: complete
            else:
                reason = f"the server closed the connection ({exc})" if exc else "the server closed the connection"
                if exchange.received_any:
                    reason += " in the middle of its answer"
                reset = isinstance(exc, (ConnectionResetError, BrokenPipeError))
                exchange.fail(Disconnected(reason, not exchange.received_any, reset))
        self.owner._forget(self)

    def pause_writing(self) -> None:
        self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._body is not None:  # a length, received in place, allocated a bounded step ahead (BODY_STEP)
            if self._filled == len(self._body):
                grow = max(BODY_STEP, len(self._body))
                self._body.extend(bytes(min(grow, self._expected - len(self._body))))
            return memoryview(self._body)[self._filled :]
        if self._reader is None:  # the head
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
            if self._body is not None:
                self._filled += nbytes
                if self._filled >= self._expected:
                    self._finish()
            elif self._reader is None:
                self._head_len += nbytes
                self._parse_head()
            else:
                self._feed(bytes(self._scratch[:nbytes]))
        except BadResponse as exc:
            exchange.fail(exc)
            self.abort()

    def eof_received(self) -> Optional[bool]:
        return False  # close; connection_lost completes a read-until-close body

    # -- parsing (protocol/http11.py) -------------------------------------------------------------

    def _reset_parser(self) -> None:
        if len(self._head) > 4096:
            self._head = bytearray(4096)
        self._head_len = 0
        self._body: Optional[bytearray] = None  # a body of known length, received in place
        self._expected = 0  # its length
        self._filled = 0
        self._reader: Optional[Reader] = None  # any other body (or a streamed one)
        self._pieces: List[bytes] = []
        self._keep_alive = True

    def _parse_head(self) -> None:
        end = self._head.find(b"\r\n\r\n", 0, self._head_len)
        if end < 0:
            if self._head_len >= MAX_HEAD:
                raise BadResponse(f"response headers longer than {MAX_HEAD} bytes")
            return
        data = memoryview(self._head)[: self._head_len]
        http11, status, found = parse_head(bytes(data[:end]))
        rest = bytes(data[end + 4 :])
        exchange = self.exchange
        assert exchange is not None
        frame = framing(http11, status, found, exchange.limit, exchange.method)
        self._keep_alive = frame.keep_alive
        if not exchange.head.done():
            exchange.head.set_result((status, Headers.of_lowered(found)))
        if frame.kind == "length" and not exchange.streaming:
            if len(rest) > frame.length:
                raise BadResponse("more bytes than Content-Length")
            self._expected = frame.length  # (the limit was checked by framing)
            self._body = bytearray(min(frame.length, max(len(rest), BODY_STEP)))  # received in place: no join
            self._body[: len(rest)] = rest
            self._filled = len(rest)
            if self._filled >= frame.length:
                self._finish()
            return
        if frame.kind == "chunked":
            self._reader = ChunkedReader(0, exchange.limit, partial=exchange.streaming)
        else:
            self._reader = READERS[frame.kind](frame.length, exchange.limit)
        self._feed(rest)
        if self._reader is not None and self._reader.done:  # (an empty body, or all of it came with the head)
            self._finish()

    def _feed(self, data: bytes) -> None:
        """Bytes of a body read by its reader (chunked, until close, or streamed)."""
        exchange = self.exchange
        reader = self._reader
        assert exchange is not None and reader is not None
        for piece in reader.feed(data):
            if exchange.streaming:
                exchange.push(piece)
            else:
                self._pieces.append(piece)
        if reader.done:
            self._finish()

    def _finish(self) -> None:
        exchange = self.exchange
        if exchange is None:
            return
        if exchange.streaming:
            body: Any = None
        elif self._body is not None:
            body = self._body
        else:
            body = b"".join(self._pieces)
        keep = self._keep_alive and not isinstance(self._reader, CloseReader)
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

    def start(self, streaming: bool, limit: int, method: str = "GET") -> Exchange:
        self.exchange = Exchange(self.loop, streaming, limit, method)
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
