"""The async InferenceServerClient: one short method per Triton HTTP/REST endpoint.

Requests are built by ``protocol`` and sent by a ``transport``; this module only
maps endpoints to paths and turns HTTP answers into values or exceptions.
"""

from __future__ import annotations

import base64
import json
from typing import Any, AsyncGenerator, Dict, List, Mapping, Optional, Sequence, Union
from urllib.parse import quote, urlencode

from ..errors import (
    ClientClosedError,
    InferenceServerException,
    InferenceServerTimeout,
    InvalidInputError,
    ServerError,
    UnavailableError,
)
from ..protocol import inference as wire
from ..protocol.endpoints import base_url, model_path, redact_headers, redact_url
from ..protocol.sse import SSEParser
from ..protocol.tensors import ProtocolError
from ..transport import Response, Transport, TransportError, default_transport
from ._infer import InferInput, InferRequestedOutput, InferResult


def transport_error(exc: TransportError, url: str) -> InferenceServerException:
    """The error a caller gets for a request that had no HTTP answer (by type: closed, timeout, unavailable)."""
    if exc.closed:
        return ClientClosedError(str(exc), url=url)
    if exc.timeout:
        return InferenceServerTimeout(str(exc), status="TIMEOUT", url=url)
    return UnavailableError(str(exc), url=url)


Headers = Optional[Mapping[str, str]]
Query = Optional[Mapping[str, Any]]


class InferenceServerClient:
    """Async client for one Triton server, method for method like ``tritonclient.http``.

    ``url`` is ``host:port`` (``ssl=True`` selects https) or a full ``http(s)://`` URL, optionally
    with a path prefix (for a server behind a reverse proxy). Use ``async with`` or ``await close()``.
    """

    def __init__(
        self,
        url: str,
        verbose: bool = False,
        conn_limit: int = 100,
        conn_timeout: float = 60.0,
        network_timeout: float = 60.0,
        ssl: bool = False,
        ssl_context: Any = None,
        ssl_options: Optional[Mapping[str, Any]] = None,
        insecure: bool = False,
        transport: Optional[Transport] = None,
        *,
        concurrency: Optional[int] = None,
        connection_timeout: Optional[float] = None,
    ) -> None:
        self._base = base_url(url, ssl)
        self._verbose = verbose
        if transport is None:
            options = dict(ssl_options or {})
            transport = default_transport(
                concurrency=concurrency or conn_limit,
                connection_timeout=connection_timeout if connection_timeout is not None else conn_timeout,
                network_timeout=network_timeout,
                ssl_context=ssl_context,
                insecure=insecure,
                ca_certs=options.get("ca_certs"),
                certfile=options.get("certfile"),
                keyfile=options.get("keyfile"),
            )
        self._transport = transport

    @property
    def url(self) -> str:
        """The server's base URL (scheme, host, port and any path prefix)."""
        return self._base

    @property
    def transport(self) -> Transport:
        """The transport that carries this client's requests (aiohttp, fetch or XHR)."""
        return self._transport

    async def __aenter__(self) -> InferenceServerClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pooled connections; the client cannot be used afterwards."""
        self._closed = True
        await self._transport.close()

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return getattr(self, "_closed", False)

    # -- plumbing --------------------------------------------------------------------------

    def _url(self, path: str, query_params: Query) -> str:
        url = self._base + path
        if query_params:
            url += "?" + urlencode(query_params, doseq=True)
        return url

    def _headers(self, extra: Headers, body_headers: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        # Triton gzips responses whenever allowed; plain bytes are much faster here.
        headers = {"Accept-Encoding": "identity"}
        headers.update(body_headers or {})
        for key, value in (extra or {}).items():  # the caller's dict is read, never changed
            for existing in [k for k in headers if k.lower() == key.lower()]:
                del headers[existing]
            headers[key] = value
        return headers

    async def _call(
        self,
        method: str,
        path: str,
        headers: Headers = None,
        query_params: Query = None,
        body: Sequence[Any] = (),
        body_headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        url = self._url(path, query_params)
        all_headers = self._headers(headers, body_headers)
        if self._verbose:
            print(f"{method} {url}, headers {redact_headers(all_headers)}")
        try:
            response = await self._transport.request(method, url, all_headers, body, timeout)
        except TransportError as exc:
            raise transport_error(exc, url) from exc
        if self._verbose:
            print(f"-> {response.status} {redact_headers(response.headers)}")
        return response

    @staticmethod
    def _raise_if_error(response: Response) -> None:
        if response.status >= 400:
            raise ServerError(
                wire.error_message(response.body, response.status), status=str(response.status), url=response.url
            )

    async def _object(
        self, method: str, path: str, headers: Headers, query_params: Query, payload: Any = None
    ) -> Dict[str, Any]:
        """A JSON object answer; anything else is a bad response."""
        value = await self._json(method, path, headers, query_params, payload)
        if not isinstance(value, dict):
            raise InferenceServerException(f"bad response to {method} {path}: expected a JSON object")
        return value

    async def _list(
        self, method: str, path: str, headers: Headers, query_params: Query, payload: Any = None
    ) -> List[Dict[str, Any]]:
        """A JSON array of objects answer; anything else is a bad response."""
        value = await self._json(method, path, headers, query_params, payload)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise InferenceServerException(f"bad response to {method} {path}: expected a JSON array of objects")
        return value

    async def _json(self, method: str, path: str, headers: Headers, query_params: Query, payload: Any = None) -> Any:
        body = () if payload is None else (json.dumps(payload).encode("utf-8"),)
        body_headers = {"Content-Type": "application/json"} if body else None
        response = await self._call(method, path, headers, query_params, body, body_headers)
        self._raise_if_error(response)
        if self._verbose:
            print(bytes(response.body).decode("utf-8", "replace"))
        return json.loads(bytes(response.body)) if len(response.body) else {}

    async def _ok(self, path: str, headers: Headers, query_params: Query) -> bool:
        response = await self._call("GET", path, headers, query_params)
        return response.status == 200

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

    # -- model repository ------------------------------------------------------------------

    async def get_model_repository_index(
        self, headers: Headers = None, query_params: Query = None, ready: bool = False
    ) -> List[Dict[str, Any]]:
        """Models in the repository (name, version, state, reason); ``ready=True`` lists only ready ones."""
        payload = {"ready": True} if ready else {}
        return await self._list("POST", "v2/repository/index", headers, query_params, payload)

    async def load_model(
        self,
        model_name: str,
        headers: Headers = None,
        query_params: Query = None,
        config: Optional[str] = None,
        files: Optional[Mapping[str, bytes]] = None,
    ) -> None:
        """(Re)load a model, optionally with a config JSON override and files ('file:1/model.py': bytes)."""
        params: Dict[str, Any] = {}
        if config is not None:
            params["config"] = config if isinstance(config, str) else json.dumps(config)
        if files:
            if config is None:
                raise InvalidInputError("load_model: 'files' needs 'config' too (Triton requires it)")
            for path, content in files.items():
                params[path] = base64.b64encode(content).decode("ascii")
        payload = {"parameters": params} if params else {}
        path = "v2/repository/models/" + quote(model_name, safe="") + "/load"
        await self._json("POST", path, headers, query_params, payload)

    async def unload_model(
        self, model_name: str, headers: Headers = None, query_params: Query = None, unload_dependents: bool = False
    ) -> None:
        """Ask the server to unload the model (``unload_dependents`` too); unloading finishes asynchronously."""
        path = "v2/repository/models/" + quote(model_name, safe="") + "/unload"
        payload = {"parameters": {"unload_dependents": unload_dependents}}
        await self._json("POST", path, headers, query_params, payload)

    # -- statistics, trace and log settings ------------------------------------------------

    async def get_inference_statistics(
        self, model_name: str = "", model_version: str = "", headers: Headers = None, query_params: Query = None
    ) -> Dict[str, Any]:
        """Inference statistics of one model (or version), or of every model when ``model_name`` is empty."""
        path = (model_path(model_name, model_version) if model_name else "v2/models") + "/stats"
        return await self._object("GET", path, headers, query_params)

    def _trace_path(self, model_name: Optional[str]) -> str:
        return (model_path(model_name) if model_name else "v2") + "/trace/setting"

    async def update_trace_settings(
        self,
        model_name: Optional[str] = None,
        settings: Optional[Mapping[str, Any]] = None,
        headers: Headers = None,
        query_params: Query = None,
    ) -> Dict[str, Any]:
        """Change trace settings, of one model or global when ``model_name`` is None; returns the new settings."""
        return await self._object("POST", self._trace_path(model_name), headers, query_params, dict(settings or {}))

    async def get_trace_settings(
        self, model_name: Optional[str] = None, headers: Headers = None, query_params: Query = None
    ) -> Dict[str, Any]:
        """Trace settings of one model, or global when ``model_name`` is None."""
        return await self._object("GET", self._trace_path(model_name), headers, query_params)

    async def update_log_settings(
        self, settings: Mapping[str, Any], headers: Headers = None, query_params: Query = None
    ) -> Dict[str, Any]:
        """Change the server's log settings; returns the new settings."""
        return await self._object("POST", "v2/logging", headers, query_params, dict(settings))

    async def get_log_settings(self, headers: Headers = None, query_params: Query = None) -> Dict[str, Any]:
        """The server's log settings."""
        return await self._object("GET", "v2/logging", headers, query_params)

    # -- shared memory ---------------------------------------------------------------------

    @staticmethod
    def _region(kind: str, name: str, action: str) -> str:
        region = f"/region/{quote(name, safe='')}" if name else ""
        return f"v2/{kind}sharedmemory{region}/{action}"

    async def get_system_shared_memory_status(
        self, region_name: str = "", headers: Headers = None, query_params: Query = None
    ) -> Any:
        """Status of one registered system shared-memory region, or of all of them."""
        return await self._json("GET", self._region("system", region_name, "status"), headers, query_params)

    async def register_system_shared_memory(
        self, name: str, key: str, byte_size: int, offset: int = 0, headers: Headers = None, query_params: Query = None
    ) -> None:
        """Register a system shared-memory region (``key`` names it on the server's host) for inputs and outputs."""
        payload = {"key": key, "offset": offset, "byte_size": byte_size}
        await self._json("POST", self._region("system", name, "register"), headers, query_params, payload)

    async def unregister_system_shared_memory(
        self, name: str = "", headers: Headers = None, query_params: Query = None
    ) -> None:
        """Unregister one system shared-memory region, or all of them when ``name`` is empty."""
        await self._json("POST", self._region("system", name, "unregister"), headers, query_params, {})

    async def get_cuda_shared_memory_status(
        self, region_name: str = "", headers: Headers = None, query_params: Query = None
    ) -> Any:
        """Status of one registered CUDA shared-memory region, or of all of them."""
        return await self._json("GET", self._region("cuda", region_name, "status"), headers, query_params)

    async def register_cuda_shared_memory(
        self,
        name: str,
        raw_handle: bytes,
        device_id: int,
        byte_size: int,
        headers: Headers = None,
        query_params: Query = None,
    ) -> None:
        """Register a CUDA shared-memory region from its raw IPC handle (bytes or base64 text)."""
        handle = raw_handle if isinstance(raw_handle, str) else base64.b64encode(raw_handle).decode("ascii")
        payload = {"raw_handle": {"b64": handle}, "device_id": device_id, "byte_size": byte_size}
        await self._json("POST", self._region("cuda", name, "register"), headers, query_params, payload)

    async def unregister_cuda_shared_memory(
        self, name: str = "", headers: Headers = None, query_params: Query = None
    ) -> None:
        """Unregister one CUDA shared-memory region, or all of them when ``name`` is empty."""
        await self._json("POST", self._region("cuda", name, "unregister"), headers, query_params, {})

    # -- inference -------------------------------------------------------------------------

    @staticmethod
    def _encode(
        inputs: Sequence[InferInput],
        outputs: Optional[Sequence[InferRequestedOutput]],
        request_id: str,
        sequence_id: Union[int, str],
        sequence_start: bool,
        sequence_end: bool,
        priority: int,
        timeout: Optional[int],
        parameters: Optional[Mapping[str, Any]],
    ) -> wire.EncodedRequest:
        if isinstance(inputs, InferInput):
            inputs = [inputs]
        for item in inputs:
            if not isinstance(item, InferInput):
                raise InvalidInputError(f"inputs must be InferInput objects, got {type(item).__name__}")
        try:
            params = wire.request_parameters(
                parameters,
                sequence_id=sequence_id,
                sequence_start=sequence_start,
                sequence_end=sequence_end,
                priority=priority,
                timeout=timeout,
            )
            return wire.build_infer_request(
                [i.to_wire() for i in inputs],
                [o.to_wire() for o in outputs] if outputs else None,
                request_id,
                params,
            )
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(str(exc)) from None

    @staticmethod
    def generate_request_body(
        inputs: Sequence[InferInput],
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
        request = InferenceServerClient._encode(
            inputs, outputs, request_id, sequence_id, sequence_start, sequence_end, priority, timeout, parameters
        )
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
        inputs: Sequence[InferInput],
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
        client_timeout: Optional[float] = None,
    ) -> InferResult:
        """Run one inference. ``timeout`` is Triton's server-side limit in microseconds;
        ``client_timeout`` (seconds) bounds the whole call on this side."""
        path = model_path(model_name, model_version) + "/infer"
        request = self._encode(
            inputs, outputs, request_id, sequence_id, sequence_start, sequence_end, priority, timeout, parameters
        )
        body_headers = request.headers
        body: Sequence[Any] = request.parts
        if request_compression_algorithm:
            try:
                body = [wire.compress(request.parts, request_compression_algorithm)]
            except ValueError as exc:
                raise InvalidInputError(f"request_compression_algorithm: {exc}") from None
            body_headers["Content-Encoding"] = request_compression_algorithm
        if response_compression_algorithm:
            if response_compression_algorithm not in wire.COMPRESSIONS:
                raise InvalidInputError(
                    f"response_compression_algorithm must be one of {wire.COMPRESSIONS}, "
                    f"got {response_compression_algorithm!r}"
                )
            body_headers["Accept-Encoding"] = response_compression_algorithm
        response = await self._call("POST", path, headers, query_params, body, body_headers, client_timeout)
        self._raise_if_error(response)
        length = response.headers.get(wire.HEADER_LENGTH)
        try:
            result = InferResult(wire.parse_infer_response(response.body, int(length) if length else None))
        except ProtocolError as exc:
            raise InferenceServerException(f"bad response from {response.url}: {exc}") from exc
        if self._verbose:
            print(json.dumps(result.get_response()))
        return result

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
        url = self._url(path, query_params)
        body = (json.dumps(self._generate_payload(inputs, parameters)).encode("utf-8"),)
        all_headers = self._headers(headers, {"Content-Type": "application/json", "Accept": "text/event-stream"})
        if self._verbose:
            print(f"POST {url}, headers {redact_headers(all_headers)}")
        try:
            async with self._transport.stream("POST", url, all_headers, body, timeout) as response:
                if response.status >= 400:
                    text = await response.read()
                    raise ServerError(wire.error_message(text, response.status), status=str(response.status), url=url)
                parser = SSEParser()
                async for chunk in response.chunks():
                    for event in parser.feed(chunk):
                        yield self._event(event.data, url)
                for event in parser.close():
                    yield self._event(event.data, url)
        except TransportError as exc:
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
            raise ServerError(str(value["error"]), url=url)
        return value
