"""What may pass through the playground's server (pure rules, no I/O): the Host it answers for, the Origin and
token a /triton/ request must carry, request targets, which Triton endpoints and headers pass, body lengths.

The threat: any web page the user visits can send requests to 127.0.0.1 (a cross-site ``text/plain`` POST needs
no CORS preflight), and a DNS-rebinding name makes such a page same-origin with the playground. See
docs/security.md.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Iterable, Optional, Tuple
from urllib.parse import unquote

TOKEN_HEADER = "X-Playground-Token"

# Headers passed on to Triton, and back to the page; nothing else crosses (no Cookie, no Authorization from
# the browser, no X-Forwarded-*). Content-Length and Transfer-Encoding are set by the proxy from the framing.
REQUEST_HEADERS = frozenset(
    {"content-type", "content-encoding", "inference-header-content-length", "accept", "accept-encoding"}
)
RESPONSE_HEADERS = frozenset({"content-type", "content-encoding", "inference-header-content-length"})

# (methods, path pattern, kind): the Triton API the page uses. "load" and "unload" need --allow-model-control.
_SEGMENT = r"[^/]+"
_MODEL = rf"/v2/models/{_SEGMENT}(?:/versions/{_SEGMENT})?"
_ENDPOINTS: Tuple[Tuple[frozenset[str], re.Pattern[str], str], ...] = tuple(
    (frozenset(methods), re.compile(pattern), kind)
    for methods, pattern, kind in [
        ({"GET", "HEAD"}, r"/v2", "read"),
        ({"GET", "HEAD"}, r"/v2/health/(?:live|ready)", "read"),
        ({"GET", "HEAD"}, rf"{_MODEL}(?:/ready|/config|/stats)?", "read"),
        ({"GET", "HEAD"}, r"/v2/models/stats", "read"),
        ({"POST"}, rf"{_MODEL}/(?:infer|generate|generate_stream)", "infer"),
        ({"POST"}, r"/v2/repository/index", "read"),
        ({"POST"}, rf"/v2/repository/models/{_SEGMENT}/load", "load"),
        ({"POST"}, rf"/v2/repository/models/{_SEGMENT}/unload", "unload"),
    ]
)
MODEL_CONTROL = frozenset({"load", "unload"})  # the kinds that change what Triton serves


class Refused(Exception):
    """A request the playground does not serve: ``status`` and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _split_host(host: str) -> Tuple[str, Optional[int]]:
    """``name:port`` / ``[v6]:port`` / ``name`` -> (lower-case name, port or None); Refused when malformed."""
    host = host.strip().lower()
    if host.startswith("["):
        name, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise Refused(400, "bad Host header")
        port_text = rest[1:] if rest else ""
    else:
        name, _, port_text = host.partition(":") if host.count(":") == 1 else (host, "", "")
    if not name or (port_text and not port_text.isdigit()):
        raise Refused(400, "bad Host header")
    return name, int(port_text) if port_text else None


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def check_host(host: Optional[str], port: int, allowed_names: Iterable[str] = ()) -> None:
    """The Host must name this server: an IP address (no DNS name can be rebound to it) or ``localhost`` or a
    name given with ``--allowed-host``, with the port the server is bound to."""
    if not host:
        raise Refused(400, "a Host header is required")
    name, given_port = _split_host(host)
    known = {"localhost", *(n.lower() for n in allowed_names)}
    if given_port != port or not (name in known or _is_ip_literal(name)):
        raise Refused(421, "this playground answers for its own address only (see --allowed-host)")


def check_origin(origin: Optional[str], host: str) -> None:
    """A request that names its Origin must come from the playground's own page."""
    if origin is not None and origin.strip().lower() != f"http://{host.strip().lower()}":
        raise Refused(403, "cross-origin request refused: only the playground's own page may call /triton/")


def normalise_target(target: str) -> Tuple[str, str]:
    """An origin-form request target -> (path, query), refused when it is anything else or when a segment would
    navigate (``.``/``..`` in any encoding), is empty, or holds a backslash or a control character."""
    if not target.startswith("/") or target.startswith("//"):
        raise Refused(400, "only origin-form request targets (/path?query) are served")
    path, _, query = target.partition("?")
    if "#" in target or any(ord(c) < 0x21 or c == "\\" or ord(c) == 0x7F for c in target):
        raise Refused(400, "bad characters in the request target")
    segments = path.split("/")[1:]
    for index, part in enumerate(segments):
        decoded = unquote(part)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            raise Refused(400, "the request target navigates ('.', '..' or an encoded slash)")
        if not part and index != len(segments) - 1:
            raise Refused(400, "empty segment in the request target")
    return path, query


def endpoint_kind(method: str, path: str) -> str:
    """``read``, ``infer``, ``load`` or ``unload`` for the Triton API the page uses, from the request's path
    (``normalise_target``'s, without the query): the one place that decides what a request is. Refused for
    every other endpoint (logging and trace settings, shared memory, ...): they can write files or map memory
    on the server."""
    for methods, pattern, kind in _ENDPOINTS:
        if method in methods and pattern.fullmatch(path):
            return kind
    raise Refused(403, f"the playground does not pass on {method} {path} to Triton")


def check_load_body(body: bytes) -> None:
    """A load request may not carry model files (``file:`` parameters): they are code for Triton to run."""
    try:
        parameters = json.loads(body or b"{}").get("parameters") or {}
    except (ValueError, AttributeError):
        raise Refused(400, "a load request's body must be a JSON object") from None
    if not isinstance(parameters, dict) or any(str(key).startswith("file:") for key in parameters):
        raise Refused(403, "the playground never passes model files (file: parameters) on to Triton")


def content_length(value: Optional[str], limit: int) -> int:
    """The declared body length: digits only, at most ``limit`` bytes."""
    if value is None:
        return 0
    text = value.strip()
    if not text.isdigit() or not text.isascii():
        raise Refused(400, "bad Content-Length")
    length = int(text)
    if length > limit:
        raise Refused(413, f"request body over {limit} bytes (the playground's --max-body-mb raises the limit)")
    return length


def exposure_warning(host: str) -> Optional[str]:
    """What serving on ``host`` exposes, when it is not a loopback address (None for loopback)."""
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"warning: serving on {host}: every machine that can reach this address can load the page and, with the "
        "token the page carries, run models on the Triton behind it. Calls to /triton/ still need that token; "
        "model load/unload needs --allow-model-control."
    )


__all__ = [
    "MODEL_CONTROL",
    "REQUEST_HEADERS",
    "RESPONSE_HEADERS",
    "TOKEN_HEADER",
    "Refused",
    "check_host",
    "check_load_body",
    "check_origin",
    "content_length",
    "endpoint_kind",
    "exposure_warning",
    "normalise_target",
]
