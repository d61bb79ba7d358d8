"""The playground's server (``pyotritonclient playground``): the page (page.py), this package as a wheel, optionally
a local Pyodide, and Triton under ``/triton/`` on the same origin. What passes is decided by guard.py; this module
does the I/O: bodies stream both ways under a size limit, sockets time out, handlers are bounded (docs/security.md).
"""

from __future__ import annotations

import base64
import hmac
import http.client
import mimetypes
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple
from urllib.parse import SplitResult, unquote, urlsplit

from ..protocol.urls import base_url, redact_url
from . import STATIC
from .guard import (
    MODEL_CONTROL,
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    TOKEN_HEADER,
    Refused,
    check_host,
    check_load_body,
    check_origin,
    content_length,
    endpoint_kind,
    exposure_warning,
    normalise_target,
)
from .page import (
    DEFAULT_PYODIDE,
    PINNED_INTEGRITY,
    content_security_policy,
    import_map,
    integrity_of,
    package_wheel,
    render_page,
)

DEFAULT_MAX_BODY = 1 << 30  # the largest request body passed on to Triton (--max-body-mb)
_CHUNK = 1 << 20
_CONTROL_BODY_LIMIT = 1 << 16  # load/unload bodies are read whole (to refuse model files): small


class Playground(ThreadingHTTPServer):
    """The playground's HTTP server (see the module's docstring)."""

    daemon_threads = True

    def __init__(
        self,
        address: Tuple[str, int],
        triton_url: Optional[str],
        pyodide_dir: Optional[Path],
        pyodide_url: str,
        *,
        allow_model_control: bool = False,
        allowed_hosts: Sequence[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY,
        client_timeout: float = 60.0,
        upstream_timeout: float = 600.0,
        max_handlers: int = 64,
    ) -> None:
        super().__init__(address, _Handler)
        self.triton: Optional[SplitResult] = None
        self.authorization: Optional[str] = None
        self.triton_url = redact_url(triton_url) if triton_url else None
        if triton_url:
            parts = urlsplit(base_url(triton_url))
            if parts.username is not None or parts.password is not None:  # applied here, never shown
                user = unquote(parts.username or "")
                password = unquote(parts.password or "")
                self.authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
            self.triton = parts
        self.pyodide_dir = Path(pyodide_dir).resolve() if pyodide_dir else None
        self.pyodide_url = "pyodide/" if self.pyodide_dir else pyodide_url
        self.allow_model_control = allow_model_control
        self.allowed_hosts = tuple(allowed_hosts)
        self.max_body_bytes = max_body_bytes
        self.client_timeout = client_timeout
        self.upstream_timeout = upstream_timeout
        self.token = secrets.token_urlsafe(32)
        self.integrity = integrity_of(self.pyodide_dir) if self.pyodide_dir else PINNED_INTEGRITY.get(pyodide_url)
        self.csp = content_security_policy(self.pyodide_url, import_map(self.pyodide_url, self.integrity))
        self.wheel = package_wheel()
        self._slots = threading.BoundedSemaphore(max_handlers)
        self._busy = 0
        self._busy_changed = threading.Condition()

    @property
    def url(self) -> str:
        """Where the page is."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def describe(self) -> str:
        """The startup line (credentials in --url redacted)."""
        control = "model load/unload allowed" if self.allow_model_control else "model load/unload off"
        return f"playground at {self.url} (Triton: {self.triton_url or 'type its URL in the page'}; {control})"

    def index(self) -> bytes:
        """The page with this server's places for Pyodide, the wheel, Triton and the token filled in."""
        triton = "triton" if self.triton else ""
        control = "on" if self.allow_model_control else "off"
        return render_page(self.pyodide_url, triton, self.token, control, self.integrity or {}).encode()

    def serve_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread (tests); ``shutdown()`` stops it."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread

    def wait_handlers(self, count: int, timeout: float = 60.0) -> bool:
        """Wait until ``count`` requests are being handled (tests)."""
        with self._busy_changed:
            return self._busy_changed.wait_for(lambda: self._busy >= count, timeout)

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, at most ``max_handlers`` at once: past that, 503 and close."""
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                body = b"the playground is busy: too many connections"
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._busy_changed:
            self._busy += 1
            self._busy_changed.notify_all()
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._busy_changed:
                self._busy -= 1
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:  # a dropped client is no traceback
        pass


class _Handler(BaseHTTPRequestHandler):
    server: Playground
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.client_timeout)  # every read and write on the client's socket

    def log_message(self, format: str, *args: object) -> None:  # quiet: the command prints what matters
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self, refusal: Refused, close: bool = False) -> None:
        if close:
            self.close_connection = True
        extra = {"Connection": "close"} if close else None
        self._send(refusal.status, refusal.message.encode(), "text/plain; charset=utf-8", extra)

    def _route(self) -> None:
        try:
            check_host(self.headers.get("Host"), int(self.server.server_address[1]), self.server.allowed_hosts)
            path, _ = normalise_target(self.path)
        except Refused as refusal:
            return self._refuse(refusal, close=self._has_body())
        if path == "/triton" or path.startswith("/triton/"):
            return self._proxy()
        if self.command not in ("GET", "HEAD") or self._has_body():
            return self._refuse(Refused(405, "method not allowed"), close=True)
        if path in ("/", "/index.html"):
            return self._send(200, self.server.index(), "text/html; charset=utf-8", self._page_headers())
        if path == "/pyotritonclient.whl":
            return self._send(200, self.server.wheel, "application/zip")
        if path.startswith("/pyodide/") and self.server.pyodide_dir is not None:
            return self._file(self.server.pyodide_dir, unquote(path[len("/pyodide/") :]))
        return self._file(STATIC, unquote(path.lstrip("/")))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _route

    def _has_body(self) -> bool:
        return (
            "Content-Length" in self.headers
            and self.headers["Content-Length"].strip() != "0"
            or ("Transfer-Encoding" in self.headers)
        )

    def _page_headers(self) -> Dict[str, str]:
        return {"Content-Security-Policy": self.server.csp, "Referrer-Policy": "no-referrer"}

    def _file(self, root: Path, relative: str) -> None:
        target = (root / relative).resolve()
        if root not in target.parents or not target.is_file():  # nothing outside the folder is served
            return self._send(404, b"not found", "text/plain")
        kind = (
            "application/wasm"
            if target.suffix == ".wasm"
            else "text/javascript"
            if target.suffix in (".js", ".mjs")
            else None
        )
        content_type = kind or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self._send(200, target.read_bytes(), content_type, self._page_headers())

    # -- /triton/: checked, then streamed both ways ------------------------------------------------------------

    def _proxy(self) -> None:
        triton = self.server.triton
        try:
            if triton is None:
                raise Refused(404, "this playground was started without --url")
            check_origin(self.headers.get("Origin"), self.headers.get("Host", ""))
            if not hmac.compare_digest(self.headers.get(TOKEN_HEADER, "").encode(), self.server.token.encode()):
                raise Refused(403, f"the playground's /triton/ needs the {TOKEN_HEADER} of its own page")
            target = self.path[len("/triton") :] or "/"
            kind = endpoint_kind(self.command, normalise_target(target)[0])  # decided once, on the parsed path
            if kind in MODEL_CONTROL and not self.server.allow_model_control:
                raise Refused(403, "model load/unload is off: start the playground with --allow-model-control")
            chunked, length = self._framing()
        except Refused as refusal:
            return self._refuse(refusal, close=self._has_body())
        body: Optional[bytes] = None
        if kind in MODEL_CONTROL:
            try:
                body = b"".join(self._body(chunked, length, _CONTROL_BODY_LIMIT))
                if kind == "load":
                    check_load_body(body)
            except Refused as refusal:
                return self._refuse(refusal, close=True)
            chunked, length = False, len(body)
        self._forward(triton, target, chunked, length, body)

    def _framing(self) -> Tuple[bool, int]:
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if "Content-Length" in self.headers:
                raise Refused(400, "both Content-Length and Transfer-Encoding: refused (request smuggling)")
            if encoding.strip().lower() != "chunked":
                raise Refused(501, "only the chunked transfer coding is supported")
            return True, 0
        return False, content_length(self.headers.get("Content-Length"), self.server.max_body_bytes)

    def _exactly(self, length: int) -> Iterator[bytes]:
        """``length`` bytes of the client's body in parts of at most 1 MiB."""
        left = length
        while left:
            part = self.rfile.read(min(_CHUNK, left))
            if not part:
                raise ConnectionError("the client closed the connection in the middle of its body")
            left -= len(part)
            yield part

    def _body(self, chunked: bool, length: int, limit: int) -> Iterator[bytes]:
        """The request body in parts of at most 1 MiB, never more than ``limit`` bytes in all."""
        if not chunked:
            yield from self._exactly(length)
            return
        total = 0
        while True:
            line = self.rfile.readline(1024)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise Refused(400, "bad chunk size in the request body")
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > limit:
                raise Refused(413, f"request body over {limit} bytes (the playground's --max-body-mb raises the limit)")
            yield from self._exactly(size)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise Refused(400, "bad chunk end in the request body")
        for _ in range(64):  # trailers, ignored
            if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                return
        raise Refused(400, "too many trailer lines in the request body")

    def _forward(self, triton: SplitResult, target: str, chunked: bool, length: int, body: Optional[bytes]) -> None:
        connection_class = http.client.HTTPSConnection if triton.scheme == "https" else http.client.HTTPConnection
        upstream = connection_class(triton.hostname or "127.0.0.1", triton.port, timeout=self.server.upstream_timeout)
        started = False  # once the answer's head went out, a failure can only close the connection
        try:
            upstream.putrequest(
                self.command, triton.path.rstrip("/") + target, skip_host=True, skip_accept_encoding=True
            )
            upstream.putheader("Host", triton.netloc)
            for key, value in self.headers.items():
                if key.lower() in REQUEST_HEADERS:
                    upstream.putheader(key, value)
            if self.server.authorization:
                upstream.putheader("Authorization", self.server.authorization)
            if chunked:
                upstream.putheader("Transfer-Encoding", "chunked")
            elif length or self.command == "POST":
                upstream.putheader("Content-Length", str(length))
            upstream.endheaders()
            parts = [body] if body is not None else self._body(chunked, length, self.server.max_body_bytes)
            for part in parts:
                upstream.send(f"{len(part):x}\r\n".encode() + part + b"\r\n" if chunked else part)
            if chunked:
                upstream.send(b"0\r\n\r\n")
            answer = upstream.getresponse()
            started = True
            self._answer(answer)
        except Refused as refusal:
            self._refuse(refusal, close=True)
        except (OSError, http.client.HTTPException) as exc:
            self.close_connection = True
            if not started:
                message = f"the playground cannot reach Triton: {type(exc).__name__}"
                self._send(502, message.encode(), "text/plain; charset=utf-8", {"Connection": "close"})
        finally:
            upstream.close()

    def _answer(self, answer: http.client.HTTPResponse) -> None:
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() in RESPONSE_HEADERS:
                self.send_header(key, value)
        self.send_header("Cache-Control", "no-store")
        declared = answer.getheader("Content-Length")
        streamed = declared is None or not declared.isdigit()
        if self.command == "HEAD":
            self.send_header("Content-Length", declared or "0")
            self.end_headers()
            return
        self.send_header(*(("Transfer-Encoding", "chunked") if streamed else ("Content-Length", declared or "0")))
        self.end_headers()
        received = 0
        while True:
            chunk = answer.read1(_CHUNK)
            if not chunk:
                break
            received += len(chunk)
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if streamed else chunk)
            self.wfile.flush()
        if streamed:
            self.wfile.write(b"0\r\n\r\n")
        elif received != int(declared or 0):
            self.close_connection = True  # Triton's answer ended short: the client sees the break


def serve(
    triton_url: Optional[str],
    host: str,
    port: int,
    pyodide_dir: Optional[Path],
    pyodide_url: str,
    **options: Any,
) -> None:
    """Serve until interrupted, printing where the page is (and what a non-loopback address exposes)."""
    warning = exposure_warning(host)
    if warning:
        print(warning, flush=True)
    server = Playground((host, port), triton_url, pyodide_dir, pyodide_url, **options)
    print(server.describe(), flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_PYODIDE",
    "PINNED_INTEGRITY",
    "TOKEN_HEADER",
    "Playground",
    "content_security_policy",
    "exposure_warning",
    "import_map",
    "integrity_of",
    "package_wheel",
    "render_page",
    "serve",
]
