"""Streams for plain HTTP clients: an ASGI app that hypha serves at ``/{workspace}/apps/{service id}-http/``.

hypha's own endpoint for service functions (``/{workspace}/services/{id}/{function}``) closes its connection to
the service before a remote generator's first event (hypha 0.21: every event is then ``Connection is closed``), so
the service registers this app beside itself. ``POST generate_stream`` with a JSON body (``model_name``, ``inputs``,
``parameters``, ``server_url``, ``model_version``) answers server-sent events in hypha's own format: ``data:
<event as JSON>`` for each event, ``data: {"error": ...}`` for an error, ``data: [DONE]`` at the end. A client that
goes away ends the stream, and Triton stops the model. The service's limits hold: the body's size, the caller's
streams (an HTTP caller is its network address: behind a proxy, all of them share one), the stream's bounds.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

from ..errors import InferenceServerException
from .core import TritonService
from .policy import ServiceError

Message = Dict[str, Any]
FIELDS = ("model_name", "inputs", "parameters", "server_url", "model_version")
BATCH = 64  # events at most in one message to the client (the ones Triton sent while the last went out)
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [[b"content-type", b"text/event-stream"], [b"cache-control", b"no-cache"]],
}


class StreamApp:
    """The ASGI app: ``serve({"scope", "receive", "send"})``, as hypha calls an ``asgi`` service."""

    def __init__(self, service: TritonService) -> None:
        self.service = service

    async def serve(self, args: Mapping[str, Any]) -> None:
        """Answer one HTTP request (hypha's ASGI proxy calls this; ``receive``/``send`` are its functions)."""
        scope, receive, send = args["scope"], args["receive"], args["send"]
        if not isinstance(scope, Mapping) or scope.get("type") != "http":
            return
        path = str(scope.get("path", "")).rstrip("/")
        if path != "/generate_stream":
            await _answer(send, 404, {"error": "not found: POST generate_stream streams a model's events"})
            return
        if scope.get("method") != "POST":
            await _answer(send, 405, {"error": "generate_stream takes POST with a JSON body"})
            return
        body, disconnected = await self._body(receive)
        if disconnected:
            return
        if body is None:
            await _answer(send, 413, {"error": "the request is larger than this service accepts"})
            return
        try:
            kwargs = _arguments(body)
            kwargs["context"] = {"from": f"http/{_address(scope)}"}  # (made here, for callers without hypha)
            stream = await self.service.call("generate_stream", kwargs=kwargs)
        except ServiceError as exc:
            await _answer(send, 400, {"error": exc.message()})
            return
        await self._events(stream, receive, send)

    async def _body(self, receive: Callable[[], Awaitable[Message]]) -> Tuple[Optional[bytes], bool]:
        """(the body, or None past the size limit; whether the client went away)."""
        limit = self.service.config.max_request_bytes
        parts: List[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return None, True
            chunk = bytes(message.get("body") or b"")
            size += len(chunk)
            if size > limit:
                return None, False
            parts.append(chunk)
            if not message.get("more_body"):
                return b"".join(parts), False

    async def _events(self, stream: Any, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        """The events as server-sent events until the last, an error, or the client going away (the stream is
        then closed: Triton stops the model)."""
        gone = asyncio.ensure_future(_disconnect(receive))
        start = asyncio.ensure_future(send(_START))  # (while Triton makes the first event)
        try:
            while True:
                following = asyncio.ensure_future(stream.__anext__())
                await asyncio.wait([following, gone], return_when=asyncio.FIRST_COMPLETED)
                if not following.done():  # the client went away
                    following.cancel()
                    return
                await start
                try:
                    events = [following.result(), *stream.ready(BATCH - 1)]  # what is there: one message
                except StopAsyncIteration:
                    await _data(send, ["[DONE]"], more=False)
                    return
                except InferenceServerException as exc:
                    await _data(send, [json.dumps({"error": exc.message()}), "[DONE]"], more=False)
                    return
                await _data(send, [json.dumps(event) for event in events])
        finally:
            gone.cancel()
            if not start.done():
                start.cancel()
            await stream.aclose()


async def _disconnect(receive: Callable[[], Awaitable[Message]]) -> None:
    """Returns when the client has gone away (hypha's proxy answers ``http.disconnect``)."""
    while True:
        try:
            message = await receive()
        except (asyncio.TimeoutError, TimeoutError):  # the proxy's call timed out (nothing happened): ask again
            continue
        except asyncio.CancelledError:
            raise
        except Exception:  # the proxy is gone: so is the client
            return
        if message.get("type") == "http.disconnect":
            return


def _arguments(body: bytes) -> Dict[str, Any]:
    try:
        given = json.loads(body or b"{}")
    except ValueError:
        raise ServiceError("the body must be a JSON object (model_name, inputs, ...)") from None
    if not isinstance(given, dict):
        raise ServiceError("the body must be a JSON object (model_name, inputs, ...)")
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise ServiceError(f"unknown field {unknown[0][:60]!r}; generate_stream takes {', '.join(FIELDS)}")
    return given


def _address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    if isinstance(client, (list, tuple)) and client and isinstance(client[0], str):
        return client[0][:100]
    return "unknown"


async def _answer(send: Any, status: int, content: Mapping[str, Any]) -> None:
    body = json.dumps(content).encode()
    await send({"type": "http.response.start", "status": status, "headers": [[b"content-type", b"application/json"]]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _data(send: Any, texts: List[str], more: bool = True) -> None:
    body = "".join(f"data: {text}\n\n" for text in texts).encode()
    await send({"type": "http.response.body", "body": body, "more_body": more})


__all__ = ["StreamApp"]
