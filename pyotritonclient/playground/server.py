"""``pyotritonclient playground``: serves the playground page, this package as a wheel for Pyodide, optionally a
local Pyodide, and Triton itself under ``/triton/`` on the same origin (so a local Triton needs no CORS setup).

    pyotritonclient playground --url http://localhost:8000            # then open http://127.0.0.1:8765/
"""

from __future__ import annotations

import http.client
import io
import mimetypes
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from .. import __version__
from ..protocol.endpoints import base_url
from . import STATIC

PACKAGE = Path(__file__).resolve().parent.parent
DEFAULT_PYODIDE = "https://cdn.jsdelivr.net/pyodide/v0.27.7/full/"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "host"}
_PROXY_LIMIT = 4 << 30  # the largest request body passed on to Triton


def package_wheel() -> bytes:
    """This package (as installed) zipped as a pure-Python wheel that Pyodide can unpack."""
    dist = f"pyotritonclient-{__version__}.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                wheel.write(path, "pyotritonclient/" + path.relative_to(PACKAGE).as_posix())
        wheel.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: pyotritonclient\nVersion: {__version__}\n")
        wheel.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: pyotritonclient playground\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist}/RECORD", "")
    return buffer.getvalue()


class Playground(ThreadingHTTPServer):
    """The playground's HTTP server (see the module's docstring)."""

    daemon_threads = True

    def __init__(
        self, address: Tuple[str, int], triton_url: Optional[str], pyodide_dir: Optional[Path], pyodide_url: str
    ) -> None:
        super().__init__(address, _Handler)
        self.triton = urlsplit(base_url(triton_url)) if triton_url else None
        self.pyodide_dir = Path(pyodide_dir).resolve() if pyodide_dir else None
        self.pyodide_url = "pyodide/" if self.pyodide_dir else pyodide_url
        self.wheel = package_wheel()

    @property
    def url(self) -> str:
        """Where the page is."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        return f"http://{host}:{port}/"

    def index(self) -> bytes:
        """The page with this server's places for Pyodide, the wheel and Triton filled in."""
        page = (STATIC / "index.html").read_text()
        triton = "triton" if self.triton else ""
        page = page.replace('data-pyodide=""', f'data-pyodide="{self.pyodide_url}"')
        page = page.replace('data-wheel=""', 'data-wheel="pyotritonclient.whl"')
        return page.replace('data-triton=""', f'data-triton="{triton}"').encode()

    def serve_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread (tests); ``shutdown()`` stops it."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: Playground
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: the command prints what matters
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/triton/") or path == "/triton":
            return self._proxy()
        if path in ("/", "/index.html"):
            return self._send(200, self.server.index(), "text/html; charset=utf-8")
        if path == "/pyotritonclient.whl":
            return self._send(200, self.server.wheel, "application/zip")
        if path.startswith("/pyodide/") and self.server.pyodide_dir is not None:
            return self._file(self.server.pyodide_dir, path[len("/pyodide/") :])
        return self._file(STATIC, path.lstrip("/"))

    do_HEAD = do_GET

    def do_POST(self) -> None:
        if urlsplit(self.path).path.startswith("/triton/"):
            return self._proxy()
        self._send(405, b"method not allowed", "text/plain")

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
        self._send(200, target.read_bytes(), kind or mimetypes.guess_type(target.name)[0] or "application/octet-stream")

    def _proxy(self) -> None:
        """The request passed on to Triton (same origin for the page: no CORS needed) and the answer back."""
        triton = self.server.triton
        if triton is None:
            return self._send(404, b'{"error": "this playground was started without --url"}', "application/json")
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > _PROXY_LIMIT:
            return self._send(413, b'{"error": "request too large"}', "application/json")
        body = self.rfile.read(length) if length else None
        target = self.path[len("/triton") :] or "/"
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        connection_class = http.client.HTTPSConnection if triton.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(triton.hostname or "127.0.0.1", triton.port, timeout=600)
        try:
            connection.request(self.command, (triton.path.rstrip("/") + target) or "/", body=body, headers=headers)
            answer = connection.getresponse()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Transfer-Encoding", "chunked")  # streams (generate_stream) pass as they come
            self.end_headers()
            while True:
                chunk = answer.read1(1 << 20)
                if not chunk:
                    break
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError as exc:
            message = f'{{"error": "the playground cannot reach Triton: {type(exc).__name__}"}}'.encode()
            self._send(502, message, "application/json")
        finally:
            connection.close()


def serve(triton_url: Optional[str], host: str, port: int, pyodide_dir: Optional[Path], pyodide_url: str) -> None:
    """Serve until interrupted, printing where the page is."""
    server = Playground((host, port), triton_url, pyodide_dir, pyodide_url)
    print(f"playground at {server.url} (Triton: {triton_url or 'type its URL in the page'})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


__all__ = ["DEFAULT_PYODIDE", "Playground", "package_wheel", "serve"]
