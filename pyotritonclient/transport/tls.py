"""What both CPython transports share: the TLS context built from the client's options, and the answer bound."""

from __future__ import annotations

import ssl as _ssl
from typing import Optional, Union

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
