"""The client's plumbing: its URL and transport, and one request turned into a value or an exception."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, TypeVar, Union
from urllib.parse import urlencode

from ..errors import (
    ClientClosedError,
    InferenceServerException,
    InferenceServerTimeout,
    InvalidInputError,
    ServerError,
    UnavailableError,
)
from ..protocol import inference as wire
from ..protocol.deadline import Deadline
from ..protocol.http11 import safe_header
from ..protocol.request import BadRequest, Request
from ..protocol.urls import base_url, redact_headers, redact_url
from ..transport import (
    NotSent,
    Response,
    Transport,
    TransportClosed,
    TransportError,
    TransportTimeout,
    default_transport,
)
from ..transport.base import DEFAULT_CONCURRENCY, DEFAULT_CONNECTION_TIMEOUT, DEFAULT_NETWORK_TIMEOUT
from ._plugin import InferenceServerClientPlugin, apply_plugin


def transport_error(exc: Exception, url: str) -> InferenceServerException:
    """THE table from a request that had no HTTP answer to the error family, by the TransportError's type
    (closed, timeout, unavailable; ``unsent`` from NotSent) or a request the protocol could not write
    (BadRequest: invalid input); its ``url`` without credentials, as in every error the client raises."""
    url = redact_url(url)
    if isinstance(exc, BadRequest):
        return InvalidInputError(str(exc), url=url)
    if isinstance(exc, TransportClosed):
        return ClientClosedError(str(exc), url=url)
    if isinstance(exc, TransportTimeout):
        return InferenceServerTimeout(str(exc), status="TIMEOUT", url=url)
    return UnavailableError(str(exc), url=url, unsent=isinstance(exc, NotSent))


def _check_header(key: object, value: object, who: str = "") -> None:
    if not safe_header(key, value):
        raise InvalidInputError(
            f"{who}header {key!r}: names and values must be strings without CR, LF or NUL (header injection)"
        )


Headers = Optional[Mapping[str, str]]
Query = Optional[Mapping[str, Any]]
_Client = TypeVar("_Client", bound="ClientBase")


class ClientBase:
    """Connection and request plumbing shared by the endpoint groups of ``InferenceServerClient``."""

    def __init__(
        self,
        url: str,
        verbose: bool = False,
        conn_limit: int = DEFAULT_CONCURRENCY,
        conn_timeout: float = DEFAULT_CONNECTION_TIMEOUT,
        network_timeout: float = DEFAULT_NETWORK_TIMEOUT,
        ssl: bool = False,
        ssl_context: Any = None,
        ssl_options: Optional[Mapping[str, Any]] = None,
        insecure: bool = False,
        transport: Optional[Transport] = None,
        *,
        concurrency: Optional[int] = None,
        connection_timeout: Optional[float] = None,
        secret_headers: Sequence[str] = (),
        max_greenlets: Optional[int] = None,
        ssl_context_factory: Optional[Callable[[], Any]] = None,
    ) -> None:
        self._base = base_url(url, ssl)
        self._verbose = verbose
        self._plugin: Optional[InferenceServerClientPlugin] = None
        self._in_flight: Set[asyncio.Task[Any]] = set()  # async_infer requests (held, so none is collected midway)
        if max_greenlets is not None and (isinstance(max_greenlets, bool) or int(max_greenlets) < 1):
            raise InvalidInputError(f"max_greenlets must be a positive int or None, got {max_greenlets!r}")
        self.max_async_requests = max_greenlets  # async_infer requests running at once (tritonclient's name)
        self._async_slots: Optional[asyncio.Semaphore] = None
        if ssl_context is None and ssl_context_factory is not None:
            ssl_context = ssl_context_factory()
        self.secret_headers = tuple(secret_headers)  # printed as <redacted> too, besides the usual credentials
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

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pooled connections (cancelling ``async_infer`` requests still running); the client cannot
        be used afterwards."""
        self._closed = True
        for task in list(self._in_flight):
            task.cancel()
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
            _check_header(key, value)
            for existing in [k for k in headers if k.lower() == key.lower()]:
                del headers[existing]
            headers[key] = value
        if self._plugin is not None:
            headers = apply_plugin(self._plugin, headers)
            for key, value in headers.items():
                _check_header(key, value, f"plugin {type(self._plugin).__name__}: ")
        return headers

    # -- plugins (tritonclient's API) -------------------------------------------------------------

    def register_plugin(self, plugin: InferenceServerClientPlugin) -> None:
        """Call ``plugin(request)`` before every request (it may change ``request.headers``); one at a time."""
        if self._plugin is not None:
            raise InferenceServerException(
                "a plugin is already registered: unregister_plugin() first, then register the new one"
            )
        if not callable(plugin):
            raise InvalidInputError(f"a plugin must be callable with a Request, got {type(plugin).__name__}")
        self._plugin = plugin

    def plugin(self) -> Optional[InferenceServerClientPlugin]:
        """The registered plugin, or None."""
        return self._plugin

    def unregister_plugin(self) -> None:
        """Remove the registered plugin."""
        if self._plugin is None:
            raise InferenceServerException("no plugin is registered")
        self._plugin = None

    async def _call(
        self,
        method: str,
        path: str,
        headers: Headers = None,
        query_params: Query = None,
        body: Sequence[Any] = (),
        body_headers: Optional[Mapping[str, str]] = None,
        timeout: Union[None, float, Deadline] = None,
    ) -> Response:
        """Send one request within ``timeout`` (seconds, or the call's Deadline, passed on as it is)."""
        return await self._send(
            self._request(method, path, headers, query_params, body, body_headers), Deadline.of(timeout)
        )

    def _announce(self, request: Request) -> None:
        """THE verbose request line: method, URL and headers, credentials redacted."""
        if self._verbose:
            headers = redact_headers(request.headers, self.secret_headers)
            print(f"{request.method} {redact_url(request.url)}, headers {headers}")

    def _request(
        self,
        method: str,
        path: str,
        headers: Headers,
        query_params: Query,
        body: Sequence[Any] = (),
        body_headers: Optional[Mapping[str, str]] = None,
    ) -> Request:
        """THE Request value of an API call: the URL from the base, path and query; the headers checked, with
        the client's defaults and the plugin's."""
        return Request(method, self._url(path, query_params), self._headers(headers, body_headers), body)

    async def _send(self, request: Request, deadline: Deadline) -> Response:
        """THE way a request leaves the client: printed when verbose, sent, its failures mapped to the family."""
        url = request.url
        self._announce(request)
        try:
            response = await self._transport.send(request, deadline)
        except (TransportError, BadRequest) as exc:
            raise transport_error(exc, url) from exc
        if self._verbose:
            print(f"-> {response.status} {redact_headers(response.headers, self.secret_headers)}")
        encoding = response.headers.get("content-encoding")
        if encoding and encoding != "identity" and not response.decoded:  # asked-for encodings come decoded
            raise InferenceServerException(
                f"bad response from {redact_url(url)}: a {encoding!r} body that was not asked for", url=url
            )
        return response

    @staticmethod
    def _raise_if_error(response: Response) -> None:
        if not 200 <= response.status < 300:  # Triton never redirects its API: a 3xx is not an answer
            raise ServerError(
                wire.error_message(response.body, response.status),
                status=str(response.status),
                url=redact_url(response.url),
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
        if not len(response.body):
            return {}
        try:
            return json.loads(bytes(response.body))
        except (ValueError, RecursionError):  # (UnicodeDecodeError and JSONDecodeError are ValueErrors)
            raise InferenceServerException(
                f"bad response to {method} {path}: the body is not JSON", url=response.url
            ) from None

    async def _ok(self, path: str, headers: Headers, query_params: Query) -> bool:
        response = await self._call("GET", path, headers, query_params)
        return response.status == 200
