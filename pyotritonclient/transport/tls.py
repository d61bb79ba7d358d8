"""What both CPython transports share: their options (one signature, one check), the TLS context built from
them, and the answer's bound."""

from __future__ import annotations

import ssl as _ssl
from typing import Dict, Optional, Union

from .base import DEFAULT_CONCURRENCY, DEFAULT_CONNECTION_TIMEOUT, DEFAULT_NETWORK_TIMEOUT, check_concurrency

MAX_RESPONSE_BYTES = 4 * 1024**3  # one answer's body (after decompression): a bound, not a typical size


def make_ssl_context(
    ssl_context: Optional[_ssl.SSLContext] = None,
    insecure: bool = False,
    ca_certs: Optional[str] = None,
    certfile: Optional[str] = None,
    keyfile: Optional[str] = None,
) -> Union[_ssl.SSLContext, bool]:
    """The TLS argument from the client's options: a context, or True for the system's default verification."""
    if ssl_context is not None:
        return ssl_context
    if not (insecure or ca_certs or certfile):
        return True  # default verification against the system store
    context = _ssl.create_default_context(cafile=ca_certs)
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = _ssl.CERT_NONE
    return context


class SocketOptions:
    """The options of a transport over sockets (``Http11Transport``, ``AiohttpTransport``): pool size, connect
    and silence timeouts, TLS, keep-alive and the answer's bound; ``stats`` counts requests and connections.
    A subclass sets up its own state in ``_start``."""

    def __init__(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT,
        network_timeout: float = DEFAULT_NETWORK_TIMEOUT,
        ssl_context: Optional[_ssl.SSLContext] = None,
        insecure: bool = False,
        ca_certs: Optional[str] = None,
        certfile: Optional[str] = None,
        keyfile: Optional[str] = None,
        keepalive_timeout: float = 30.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        check_concurrency(concurrency)
        self.concurrency = concurrency
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.keepalive_timeout = keepalive_timeout
        self.max_response_bytes = max_response_bytes
        self.tls = make_ssl_context(ssl_context, insecure, ca_certs, certfile, keyfile)
        self.stats: Dict[str, int] = {"requests": 0, "connections_created": 0}
        self._closed = False
        self._start()

    def _start(self) -> None:
        """The transport's own state (its pool), set up after the options."""
