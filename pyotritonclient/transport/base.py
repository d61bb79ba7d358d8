"""The transport interface: the only place bytes cross the network.

A transport sends one HTTP request whose body is given as a sequence of
buffers (sent back to back, never joined by the caller) and returns the
status, headers and the whole body as one buffer. ``stream`` is the variant
for server-sent events: the body arrives chunk by chunk as the server sends it.
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
    Sequence,
    Tuple,
    Type,
    Union,
)

from ..errors import InvalidInputError
from ..protocol.inference import decompress
from ..protocol.urls import redact_url

Buffer = Union[bytes, bytearray, memoryview]
BodyParts = Sequence[Buffer]

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


class TransportError(Exception):
    """The request never got an HTTP answer (connection refused, reset, DNS, CORS, timeout)."""

    def __init__(
        self, message: str, url: str = "", timeout: bool = False, closed: bool = False, unsent: bool = False
    ) -> None:
        super().__init__(message)
        self.url = url
        self.timeout = timeout
        self.closed = closed
        self.unsent = unsent  # certainly not received by the server (no connection was made)


class Transport(Protocol):
    """What a client needs from the network. Implementations: aiohttp (CPython), fetch (Pyodide)."""

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: BodyParts = (),
        timeout: Optional[float] = None,
    ) -> Response:
        """Send one request and read the whole response body."""
        ...

    def stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: BodyParts = (),
        timeout: Optional[float] = None,
    ) -> StreamContext:
        """``async with transport.stream(...) as response`` — the body read chunk by chunk."""
        ...

    async def close(self) -> None:
        """Release pooled connections; the transport is unusable afterwards."""
        ...


def decoded(response: Response, request_headers: Mapping[str, str], limit: int, method: str) -> Response:
    """THE Content-Encoding rule of the CPython transports: the body is decompressed (never past ``limit``
    bytes) when the server used an encoding the request asked for in ``Accept-Encoding``; otherwise it is left
    as it came (the client then refuses an encoding it did not ask for). TransportError names a bad body."""
    encoding = response.headers.get("content-encoding")
    if not encoding or encoding == "identity" or encoding not in request_headers.get("Accept-Encoding", ""):
        return response
    try:
        body = decompress(response.body, encoding, limit)
    except Exception as exc:
        raise TransportError(
            f"{method} {redact_url(response.url)}: cannot decode the {encoding} answer: {exc}", response.url
        ) from None
    return Response(response.status, response.headers, body, response.url, decoded=True)


# How a transport's foreign exceptions become TransportErrors: (exception types, what happened, the message).
# "timeout" and "unsent" (certainly not received: no connection was made) are the flags the client maps to its
# error family (http/_base.py); the message may use {method}, {url} (redacted), {exc}, {limit} (" after N s").
ErrorRule = Tuple[Tuple[Type[BaseException], ...], str, str]
_KINDS: Dict[str, Dict[str, bool]] = {"timeout": {"timeout": True}, "unsent": {"unsent": True}, "failed": {}}


def map_error(
    exc: BaseException, rules: Sequence[ErrorRule], method: str, url: str, timeout: Optional[float] = None
) -> BaseException:
    """THE seam for foreign exceptions: the first rule whose types match makes the TransportError; a
    TransportError, or an exception no rule names (a bug, a cancellation), is returned as it is."""
    if isinstance(exc, TransportError):
        return exc
    for types, kind, message in rules:
        if isinstance(exc, types):
            limit = f" after {timeout} s" if timeout is not None else ""
            text = message.format(method=method, url=redact_url(url), exc=exc, limit=limit)
            return TransportError(text, url, **_KINDS[kind])
    return exc


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


def body_length(body: BodyParts) -> int:
    """Total number of bytes in ``body`` without joining it."""
    return sum(memoryview(part).nbytes for part in body)
