"""An in-process transport that answers from a handler, like httpx's MockTransport: fast unit tests of the
client's logic, and answers no real server gives (broken, hostile, failing at a chosen moment).

    def handler(request: MemoryRequest) -> MemoryResponse:
        return MemoryResponse.json({"name": "m"})
    client = InferenceServerClient("memory:1", transport=MemoryTransport(handler))

A handler may return a ``MemoryResponse`` (or an awaitable of one), or raise a ``TransportError`` (a subtype
says how: ``TransportTimeout``, ``NotSent``...) to stand for a request that got no answer. Every request is
kept in ``transport.requests``, body joined, for assertions.
"""

from __future__ import annotations

import inspect
import json as _json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Union

from ..protocol.deadline import Deadline
from ..protocol.request import Request
from .base import Headers, Response, StreamResponse
from .errors import TransportClosed


@dataclass
class MemoryRequest:
    """One request as the transport saw it, body joined; ``deadline`` is the one it was sent within."""

    method: str
    url: str
    headers: Dict[str, str]
    body: bytes
    deadline: Deadline

    @property
    def timeout(self) -> Optional[float]:
        """The seconds the call's deadline was made with (None: no deadline)."""
        return self.deadline.timeout

    def json(self) -> Any:
        """The body parsed as JSON (the JSON header alone when binary data follows: see ``header_length``)."""
        length = self.headers.get("Inference-Header-Content-Length")
        return _json.loads(self.body[: int(length)] if length else self.body)


@dataclass
class MemoryResponse:
    """An answer: status, headers and a body, or ``chunks`` for a streamed body."""

    status: int = 200
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: Optional[Sequence[bytes]] = None

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Optional[Mapping[str, str]] = None) -> MemoryResponse:
        """A JSON answer."""
        return cls(status, {"Content-Type": "application/json", **(headers or {})}, _json.dumps(value).encode())


Handler = Callable[[MemoryRequest], Union[MemoryResponse, Awaitable[MemoryResponse]]]


class MemoryTransport:
    """A transport whose answers come from ``handler``; ``requests`` lists what was sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: List[MemoryRequest] = []
        self.closed = False
        self.stats: Dict[str, int] = {"requests": 0, "connections_created": 0}

    async def _answer(self, request: Request, deadline: Deadline) -> MemoryResponse:
        if self.closed:
            raise TransportClosed("this client is closed", request.url)
        body = b"".join(bytes(part) for part in request.body)
        seen = MemoryRequest(request.method, request.url, dict(request.headers), body, deadline)
        self.requests.append(seen)
        self.stats["requests"] += 1
        answer = self.handler(seen)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, MemoryResponse), "a handler returns a MemoryResponse"
        return answer

    async def send(self, request: Request, deadline: Deadline) -> Response:
        """Answer one request from the handler."""
        answer = await self._answer(request, deadline)
        data = b"".join(answer.chunks) if answer.chunks is not None else answer.body
        return Response(answer.status, Headers(answer.headers), data, request.url)

    @asynccontextmanager
    async def stream(
        self, request: Request, deadline: Deadline, silence: Optional[float] = None
    ) -> AsyncIterator[StreamResponse]:
        """Answer one request from the handler, its body in the handler's ``chunks``."""
        answer = await self._answer(request, deadline)
        parts = list(answer.chunks) if answer.chunks is not None else [answer.body]

        async def chunks() -> AsyncIterator[bytes]:
            for part in parts:
                yield part

        yield StreamResponse(answer.status, Headers(answer.headers), request.url, chunks())

    async def close(self) -> None:
        """Later requests fail as on a closed client."""
        self.closed = True


__all__ = ["Handler", "MemoryRequest", "MemoryResponse", "MemoryTransport"]
