"""The async InferenceServerClient: one short method per Triton HTTP/REST endpoint.

Requests are built by ``protocol`` and sent by a ``transport``; ``_base.py`` holds the plumbing and
``_admin.py`` the repository, statistics, settings and shared-memory endpoints; this module the health,
metadata and inference ones.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncGenerator, Callable, Coroutine, Dict, Mapping, Optional, Sequence, Union

from ..errors import InferenceServerException, InvalidInputError, ProtocolError, ServerError
from ..protocol import inference as wire
from ..protocol.deadline import Deadline
from ..protocol.request import BadRequest
from ..protocol.sse import SSEParser
from ..protocol.urls import model_path, redact_url
from ..transport import TransportError
from ._admin import AdminEndpoints
from ._async import InferAsyncRequest
from ._base import Headers, Query, transport_error
from ._call import InferCall, encode_infer
from ._infer import InferRequestedOutput, InferResult, Tensor

__all__ = ["InferenceServerClient", "transport_error"]


class InferenceServerClient(AdminEndpoints):
    """Async client for one Triton server, method for method like ``tritonclient.http``.

    ``url`` is ``host:port`` (``ssl=True`` selects https) or a full ``http(s)://`` URL, optionally
    with a path prefix (for a server behind a reverse proxy). Use ``async with`` or ``await close()``.
    """

    # -- health and metadata ---------------------------------------------------------------

    async def is_server_live(self, headers: Headers = None, query_params: Query = None) -> bool:
        """True when the server answers its liveness check (``GET v2/health/live``)."""
        return await self._ok("v2/health/live", headers, query_params)

    async def is_server_ready(self, headers: Headers = None, query_params: Query = None) -> bool:
        """True when the server and all its models are ready (``GET v2/health/ready``)."""
        return await self._ok("v2/health/ready", headers, query_params)

    async def is_model_ready(
        self, model_name: str, model_version: str = "", headers: Headers = None, query_params: Query = None
    ) -> bool:
        """True when the model (or that version) is ready to serve requests."""
        return await self._ok(model_path(model_name, model_version) + "/ready", headers, query_params)

    async def get_server_metadata(self, headers: Headers = None, query_params: Query = None) -> Dict[str, Any]:
        """The server's name, version and extensions."""
        return await self._object("GET", "v2", headers, query_params)

    async def get_model_metadata(
        self, model_name: str, model_version: str = "", headers: Headers = None, query_params: Query = None
    ) -> Dict[str, Any]:
        """The model's name, versions, platform, inputs and outputs.

        Raises ServerError (404) for an unknown model."""
        return await self._object("GET", model_path(model_name, model_version), headers, query_params)

    async def get_model_config(
        self, model_name: str, model_version: str = "", headers: Headers = None, query_params: Query = None
    ) -> Dict[str, Any]:
        """The model's configuration (inputs, outputs, dtypes, dims, batching).

        Raises ServerError (404) for an unknown model."""
        return await self._object("GET", model_path(model_name, model_version) + "/config", headers, query_params)

    # -- inference -------------------------------------------------------------------------

    @staticmethod
    def generate_request_body(
        inputs: Sequence[Tensor],
        outputs: Optional[Sequence[InferRequestedOutput]] = None,
        request_id: str = "",
        sequence_id: Union[int, str] = 0,
        sequence_start: bool = False,
        sequence_end: bool = False,
        priority: int = 0,
        timeout: Optional[int] = None,
        parameters: Optional[Mapping[str, Any]] = None,
    ) -> tuple[bytes, Optional[int]]:
        """The whole request body as one bytes object and its JSON length (for custom transports)."""
        sequence = (sequence_id, sequence_start, sequence_end)
        request = encode_infer(inputs, outputs, request_id, parameters, sequence, priority, timeout)
        return b"".join(request.parts), request.header_length

    @staticmethod
    def parse_response_body(
        response_body: bytes,
        verbose: bool = False,
        header_length: Optional[int] = None,
        content_encoding: Optional[str] = None,
    ) -> InferResult:
        """An ``InferResult`` from an inference response body you received yourself (tritonclient's helper)."""
        return InferResult.from_response_body(response_body, verbose, header_length, content_encoding)

    async def infer(
        self,
        model_name: str,
        inputs: Sequence[Tensor],
        model_version: str = "",
        outputs: Optional[Sequence[InferRequestedOutput]] = None,
        request_id: str = "",
        sequence_id: Union[int, str] = 0,
        sequence_start: bool = False,
        sequence_end: bool = False,
        priority: int = 0,
        timeout: Optional[int] = None,
        headers: Headers = None,
        query_params: Query = None,
        request_compression_algorithm: Optional[str] = None,
        response_compression_algorithm: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        client_timeout: Union[None, float, Deadline] = None,
    ) -> InferResult:
        """Run one inference. ``timeout`` is Triton's server-side limit in microseconds;
        ``client_timeout`` (seconds, or a caller's Deadline, used as it is) bounds the whole call on this side."""
        call = InferCall.of_arguments(
            model_name,
            model_version,
            inputs,
            outputs,
            request_id,
            parameters,
            (sequence_id, sequence_start, sequence_end),
            priority,
            timeout,
            headers,
            query_params,
            (request_compression_algorithm, response_compression_algorithm),
            client_timeout,
        )
        return await self._send_infer(call)

    async def _in_slot(self, send: Callable[[], Coroutine[Any, Any, InferResult]]) -> InferResult:
        """Wait for one of ``max_greenlets`` slots, then send (created here: a semaphore belongs to one loop)."""
        if self._async_slots is None:
            self._async_slots = asyncio.Semaphore(self.max_async_requests or 1)
        async with self._async_slots:
            return await send()

    async def _send_infer(self, call: InferCall) -> InferResult:
        path = model_path(call.model_name, call.model_version) + "/infer"
        body, body_headers = call.body()
        request = self._request("POST", path, call.headers, call.query_params, body, body_headers)
        response = await self._send(request, call.deadline)
        if wire.HEADER_LENGTH in body_headers and wire.refused_binary_body(response.status, response.body):
            raise ServerError(
                f"{wire.error_message(response.body, response.status)} (the server refused a request with binary "
                "tensors: it may not support the binary tensor extension; build the inputs and requested outputs "
                "with binary_data=False to send JSON, see docs/servers.md)",
                status=str(response.status),
                url=response.url,
            )
        self._raise_if_error(response)
        try:
            length = wire.header_length(response.headers.get(wire.HEADER_LENGTH))
            result = InferResult(wire.parse_infer_response(response.body, length))
        except ProtocolError as exc:
            raise InferenceServerException(f"bad response from {response.url}: {exc}") from exc
        if self._verbose:
            print(json.dumps(result.get_response()))
        return result

    def async_infer(
        self,
        model_name: str,
        inputs: Sequence[Tensor],
        model_version: str = "",
        outputs: Optional[Sequence[InferRequestedOutput]] = None,
        request_id: str = "",
        sequence_id: Union[int, str] = 0,
        sequence_start: bool = False,
        sequence_end: bool = False,
        priority: int = 0,
        timeout: Optional[int] = None,
        headers: Headers = None,
        query_params: Query = None,
        request_compression_algorithm: Optional[str] = None,
        response_compression_algorithm: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        client_timeout: Union[None, float, Deadline] = None,
    ) -> InferAsyncRequest:
        """Start ``infer`` in the background and return its handle at once: ``await handle.get_result()``.

        Same arguments as ``infer``; needs a running event loop. Bad arguments are refused here, before
        anything is sent. The requests in flight share the client's connection pool (``concurrency``)."""
        call = InferCall.of_arguments(
            model_name,
            model_version,
            inputs,
            outputs,
            request_id,
            parameters,
            (sequence_id, sequence_start, sequence_end),
            priority,
            timeout,
            headers,
            query_params,
            (request_compression_algorithm, response_compression_algorithm),
            client_timeout,
        )  # bad inputs are refused now, not in the background
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise InferenceServerException("async_infer needs a running event loop: call it from async code") from None

        def send() -> Coroutine[Any, Any, InferResult]:
            return self._send_infer(call)

        sending: Coroutine[Any, Any, InferResult] = self._in_slot(send) if self.max_async_requests else send()
        task = loop.create_task(sending)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return InferAsyncRequest(task)

    async def generate(
        self,
        model_name: str,
        inputs: Mapping[str, Any],
        model_version: str = "",
        parameters: Optional[Mapping[str, Any]] = None,
        headers: Headers = None,
        query_params: Query = None,
    ) -> Dict[str, Any]:
        """Triton's generate extension: JSON inputs by name in, one JSON object out."""
        path = model_path(model_name, model_version) + "/generate"
        return await self._object("POST", path, headers, query_params, self._generate_payload(inputs, parameters))

    @staticmethod
    def _generate_payload(inputs: Mapping[str, Any], parameters: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        if not isinstance(inputs, Mapping):
            raise InvalidInputError(f"generate inputs must be a dict of name -> value, got {type(inputs).__name__}")
        payload = dict(inputs)
        if parameters:
            payload["parameters"] = dict(parameters)
        return payload

    async def generate_stream(
        self,
        model_name: str,
        inputs: Mapping[str, Any],
        model_version: str = "",
        parameters: Optional[Mapping[str, Any]] = None,
        headers: Headers = None,
        query_params: Query = None,
        timeout: Optional[float] = None,
    ) -> AsyncGenerator[Dict[str, Any], None]:
        """Yield each server-sent event of /generate_stream as soon as it arrives.

        ``timeout`` (seconds) is the longest silence allowed between two events.
        """
        path = model_path(model_name, model_version) + "/generate_stream"
        body = (json.dumps(self._generate_payload(inputs, parameters)).encode("utf-8"),)
        body_headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        request = self._request("POST", path, headers, query_params, body, body_headers)
        url = request.url
        self._announce(request)
        try:
            async with self._transport.stream(request, Deadline(), silence=timeout) as response:
                if response.status >= 400:
                    text = await response.read()
                    raise ServerError(
                        wire.error_message(text, response.status), status=str(response.status), url=redact_url(url)
                    )
                parser = SSEParser()
                async for chunk in response.chunks():
                    for event in parser.feed(chunk):
                        yield self._event(event.data, url)
                for event in parser.close():
                    yield self._event(event.data, url)
        except (TransportError, BadRequest) as exc:
            raise transport_error(exc, url) from exc

    @staticmethod
    def _event(data: str, url: str) -> Dict[str, Any]:
        try:
            value = json.loads(data)
        except ValueError:
            raise InferenceServerException(
                f"generate_stream from {redact_url(url)}: event is not JSON: {data[:200]!r}"
            ) from None
        if not isinstance(value, dict):
            raise InferenceServerException(f"generate_stream from {redact_url(url)}: event is not a JSON object")
        if "error" in value and len(value) == 1:
            raise ServerError(str(value["error"]), url=redact_url(url))
        return value
