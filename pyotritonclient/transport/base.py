"""The transport interface: the only place bytes cross the network, and the one table of what failed.

A transport sends one ``Request`` value (protocol/request.py; its body a sequence of buffers sent back to back,
never joined) within the call's one ``Deadline`` (protocol/deadline.py) and returns the status, headers and the
whole body as one buffer. ``stream`` is the variant for server-sent events: the body arrives chunk by chunk as
the server sends it. A request that got no answer raises a ``TransportError`` whose type says how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import (
    AsyncContextManager,
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Mapping,
    Optional,
    Protocol,
)

from ..errors import InvalidInputError
from ..protocol.compression import decompress
from ..protocol.deadline import Deadline
from ..protocol.request import Buffer, Request
from ..protocol.urls import redact_url
from .errors import TransportError

# The defaults of every transport and of the client (one home: each signature names these).
DEFAULT_CONCURRENCY = 100  # connections (or requests in flight) per client
DEFAULT_CONNECTION_TIMEOUT = 60.0  # seconds to connect
DEFAULT_NETWORK_TIMEOUT = 60.0  # seconds of silence in the middle of an answer


class Headers(Dict[str, str]):
    """A dict of response headers with case-insensitive lookups (keys stored lower-case)."""

    def __init__(self, items: Optional[Mapping[str, str]] = None) -> None:
        super().__init__()
        for key, value in (items or {}).items():
            self[key] = value

    @classmethod
    def of_lowered(cls, items: Dict[str, str]) -> Headers:
        """Headers from a dict whose keys are lower-case already (a parser's output), without re-keying."""
        headers = cls()
        dict.update(headers, items)
        return headers

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return str(super().__getitem__(key.lower()))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:  # type: ignore[override]
        """The header's value, case-insensitively, or ``default``."""
        return super().get(key.lower(), default)


@dataclass
class Response:
    """A complete HTTP response. ``body`` is one contiguous buffer."""

    status: int
    headers: Headers
    body: Buffer = b""
    url: str = ""
    decoded: bool = False  # the body was decompressed already (browsers always do; aiohttp when asked)


@dataclass
class StreamResponse:
    """An HTTP response whose body is read incrementally with ``chunks()``."""

    status: int
    headers: Headers
    url: str = ""
    _chunks: Optional[AsyncIterator[bytes]] = field(default=None, repr=False)

    def chunks(self) -> AsyncIterator[bytes]:
        """Body chunks in arrival order (each as soon as the network delivers it)."""
        if self._chunks is None:
            raise RuntimeError("this stream has no body")
        return self._chunks

    async def read(self) -> bytes:
        """The rest of the body, joined (for error responses, which are small)."""
        parts = [chunk async for chunk in self.chunks()]
        return b"".join(parts)


StreamContext = AsyncContextManager[StreamResponse]  # ``async with transport.stream(...) as response``


class Transport(Protocol):
    """What a client needs from the network. Implementations: HTTP/1.1 on asyncio (CPython's default), aiohttp,
    fetch and XMLHttpRequest (Pyodide), memory (tests)."""

    async def send(self, request: Request, deadline: Deadline) -> Response:
        """Send one request and read the whole response body, within what is left of ``deadline``."""
        ...

    def stream(self, request: Request, deadline: Deadline, silence: Optional[float] = None) -> StreamContext:
        """``async with transport.stream(request, deadline) as response`` — the body read chunk by chunk; each
        wait is bounded by the deadline and by ``silence`` (default: the transport's ``network_timeout``)."""
        ...

    async def close(self) -> None:
        """Release pooled connections; the transport is unusable afterwards."""
        ...


def decoded(response: Response, request: Request, limit: int) -> Response:
    """THE Content-Encoding rule of the CPython transports: the body is decompressed (never past ``limit``
    bytes) when the server used an encoding the request asked for in ``Accept-Encoding``; otherwise it is left
    as it came (the client then refuses an encoding it did not ask for). TransportError names a bad body."""
    encoding = response.headers.get("content-encoding")
    if not encoding or encoding == "identity" or encoding not in _header(request.headers, "accept-encoding"):
        return response
    try:
        body = decompress(response.body, encoding, limit)
    except Exception as exc:
        raise TransportError(
            f"{request.method} {redact_url(response.url)}: cannot decode the {encoding} answer: {exc}", response.url
        ) from None
    return Response(response.status, response.headers, body, response.url, decoded=True)


def at_loop_shutdown(close: Callable[[], Awaitable[None]]) -> Optional[AsyncGenerator[None, None]]:
    """THE "close with the event loop" rule: ``close()`` runs when the running loop shuts down its async
    generators (``asyncio.run`` ends), for code that never closes what it opened. Returns the generator to keep
    (the loop holds only a weak reference to it), or None on a loop without async-generator hooks (then an
    explicit ``close()`` is the way)."""

    async def at_shutdown() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await close()

    closer = at_shutdown()
    try:  # run it to its ``yield``: the loop's firstiter hook registers it for shutdown_asyncgens()
        closer.asend(None).send(None)
    except StopIteration:
        return closer
    except Exception:
        pass
    return None


def check_concurrency(concurrency: object) -> None:
    """THE rule for a number of calls at once (a transport's limit, ``execute_batch``, the scheduler): an int of
    at least 1; InvalidInputError (a ValueError) otherwise."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInputError(f"concurrency must be at least 1, got {concurrency!r}")


def _header(headers: Mapping[str, str], lower: str) -> str:
    """A request header's value by its lower-case name, whatever the caller's spelling ("" when absent)."""
    for name, value in headers.items():
        if name.lower() == lower:
            return value
    return ""
