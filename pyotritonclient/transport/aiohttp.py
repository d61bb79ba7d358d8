"""CPython transport on aiohttp: one pooled session, keep-alive, a concurrency limit, timeouts, TLS."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, AsyncIterator, Dict, List, Optional

import aiohttp
from aiohttp.payload import Payload

from ..protocol.deadline import Deadline
from ..protocol.request import BodyParts, Buffer, Request, body_length
from ..protocol.urls import redact_url
from .base import (
    Headers,
    Response,
    StreamResponse,
    at_loop_shutdown,
    decoded,
)
from .errors import ErrorRule, TransportClosed, TransportError, aiohttp_rules, map_error
from .tls import SocketOptions


class _PartsPayload(Payload):
    """A request body made of several buffers, written one after the other without joining them."""

    def __init__(self, parts: BodyParts, content_type: str = "application/octet-stream") -> None:
        super().__init__(parts, content_type=content_type)
        self._parts = list(parts)
        self._size = body_length(self._parts)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return b"".join(self._parts).decode(encoding, errors)

    async def write(self, writer: Any) -> None:
        for part in self._parts:
            if len(part):
                await writer.write(part)

    async def write_with_length(self, writer: Any, content_length: Optional[int]) -> None:
        if content_length is None:
            return await self.write(writer)
        for part in self._parts:
            if content_length <= 0:
                return
            await writer.write(part[:content_length])
            content_length -= len(part)


SMALL_PART = 64 * 1024


def _coalesce_small(parts: BodyParts) -> List[Buffer]:
    """Join runs of small parts (one send instead of several); large parts stay as they are."""
    out: List[Buffer] = []
    pending: List[Buffer] = []
    for part in parts:
        view = memoryview(part).cast("B") if isinstance(part, memoryview) else part
        if len(view) <= SMALL_PART:
            pending.append(view)
            continue
        if pending:
            out.append(b"".join(pending))
            pending = []
        out.append(view)
    if pending:
        out.append(b"".join(pending))
    return out


class _CountingConnector(aiohttp.TCPConnector):
    """A TCPConnector that counts the connections it opens (a TraceConfig would slow every request)."""

    def __init__(self, stats: Dict[str, int], **options: Any) -> None:
        super().__init__(**options)
        self._stats = stats

    async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
        protocol = await super()._create_connection(*args, **kwargs)
        self._stats["connections_created"] += 1
        return protocol


class AiohttpTransport(SocketOptions):
    """Pooled aiohttp transport. Counters in ``stats`` make connection reuse observable."""

    def _start(self) -> None:
        self._session: Optional[aiohttp.ClientSession] = None
        self._closer: Optional[AsyncGenerator[None, None]] = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TransportClosed("this client is closed")
        if self._session is None or self._session.closed:
            connector = _CountingConnector(
                self.stats, limit=self.concurrency, ssl=self.tls, keepalive_timeout=self.keepalive_timeout
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.connection_timeout, sock_read=self.network_timeout
                ),
                skip_auto_headers=("User-Agent",),
                auto_decompress=False,  # decoded here, only when asked for, and never past max_response_bytes
            )
            self._close_with_loop(self._session)
        return self._session

    def _close_with_loop(self, session: aiohttp.ClientSession) -> None:
        """Close ``session`` when its event loop shuts down (``asyncio.run`` ends), for code that never calls
        ``close()``: no "Unclosed client session" at exit. The loop's async-generator hooks do it; a later loop
        gets a new session."""

        async def close_session() -> None:
            if not session.closed:
                await session.close()

        self._closer = at_loop_shutdown(close_session)

    def _timeout(self, limit: Optional[float], silence: Optional[float] = None) -> Any:
        """aiohttp's timeouts for one request: ``limit`` for all of it; a stream (``silence``) bounds pauses."""
        if limit is None and silence is None:
            return aiohttp.helpers.sentinel
        connect = min(x for x in (limit, silence, self.connection_timeout) if x is not None)
        if silence is not None:  # a stream may last long: the limit is on the silence between chunks
            return aiohttp.ClientTimeout(total=limit, sock_connect=connect, sock_read=silence)
        return aiohttp.ClientTimeout(total=limit, sock_connect=connect)

    def _request(self, request: Request, timeout: Any) -> Any:
        self.stats["requests"] += 1
        data: Any = None
        if request.body:
            parts = _coalesce_small(request.body)
            # One small buffer goes as plain bytes (aiohttp's fastest path); large ones are never joined.
            content_type = next(
                (v for k, v in request.headers.items() if k.lower() == "content-type"), "application/octet-stream"
            )
            data = parts[0] if len(parts) == 1 and len(parts[0]) <= SMALL_PART else _PartsPayload(parts, content_type)
        return self._get_session().request(
            request.method,
            request.url,
            headers=dict(request.headers),
            data=data,
            timeout=timeout,
            allow_redirects=False,
        )

    async def send(self, request: Request, deadline: Deadline) -> Response:
        """Send one request (body parts sent back to back, never joined) and read the whole answer."""
        try:
            async with self._request(request, self._timeout(deadline.request_timeout())) as resp:
                data: Buffer = await self._read(resp, request.method, request.url)
                answer = Response(resp.status, Headers(resp.headers), data, request.url)
                return decoded(answer, request, self.max_response_bytes)
        except Exception as exc:
            raise map_error(exc, ERRORS, request, deadline.timeout) from exc

    async def _read(self, resp: Any, method: str, url: str) -> bytes:
        """The whole body, refused past ``max_response_bytes`` (checked before reading when the length is known)."""
        limit = self.max_response_bytes
        if resp.content_length is not None:
            if resp.content_length > limit:
                raise TransportError(
                    f"{method} {redact_url(url)}: the answer is {resp.content_length} bytes, more than "
                    f"max_response_bytes ({limit})",
                    url,
                )
            return await resp.read()  # type: ignore[no-any-return]
        chunks, size = [], 0
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            if size > limit:
                raise TransportError(
                    f"{method} {redact_url(url)}: the answer is more than max_response_bytes ({limit})", url
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @asynccontextmanager
    async def stream(
        self, request: Request, deadline: Deadline, silence: Optional[float] = None
    ) -> AsyncIterator[StreamResponse]:
        """``async with`` one request whose answer body is read chunk by chunk; every pause is bounded by
        ``silence`` (default ``network_timeout``), all of it by ``deadline``."""
        silence = self.network_timeout if silence is None else silence
        within = silence if deadline.at is None else deadline.timeout
        try:
            timeout = self._timeout(deadline.request_timeout(), silence)
            resp = await self._request(request, timeout).__aenter__()
        except Exception as exc:
            raise map_error(exc, ERRORS, request, within) from exc

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in resp.content.iter_any():
                    yield chunk
            except Exception as exc:
                raise map_error(exc, ERRORS, request, within) from exc

        try:
            yield StreamResponse(resp.status, Headers(resp.headers), request.url, chunks())
        finally:
            resp.release()
            resp.close()

    async def close(self) -> None:
        """Close the pooled connections; later requests fail with TransportClosed (ClientClosedError)."""
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


ERRORS: List[ErrorRule] = aiohttp_rules(aiohttp)
