"""Hand-written servers for what a real one cannot produce (silence, a broken answer, a wedge): one base that
listens on a port from the kernel, hands each connection to ``serve`` in a thread of its own, and closes every
connection it holds on ``close()``; and the one HTTP/1.1 head reader they share."""

from __future__ import annotations

import socket
import threading
from typing import Any, Dict, List, Tuple


class LoopbackServer:
    """Accepts connections on 127.0.0.1 (a kernel-chosen port, or ``port``: one the test had refused before);
    ``serve(connection)`` runs for each in a thread. The base class holds connections open and never answers
    (a paused or wedged server)."""

    def __init__(self, port: int = 0) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.held: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                connection = self.listener.accept()[0]
            except OSError:
                return
            self.held.append(connection)
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    def _run(self, connection: socket.socket) -> None:
        try:
            self.serve(connection)
        except OSError:
            pass

    def serve(self, connection: socket.socket) -> None:
        """Handle one connection (here: hold it, say nothing)."""

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()


class ReadyButSlow(LoopbackServer):
    """Answers GET /v2/health/ready with 200 at once; every other request is read and never answered."""

    def __init__(self, userinfo: str = "") -> None:
        self.index_asked = threading.Event()
        self.userinfo = userinfo
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://{self.userinfo}127.0.0.1:{self.port}"

    def serve(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        while True:
            line, headers = read_head(reader)
            if not line:
                return
            reader.read(int(headers.get("content-length", "0")))
            if "/v2/health/ready" in line:
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                continue
            if "/v2/repository/index" in line:
                self.index_asked.set()
            return  # hold the connection: no answer, ever


def read_head(reader: Any) -> Tuple[str, Dict[str, str]]:
    """The first line and the headers (lower-case names) of one HTTP/1.1 message from a binary file object."""
    line = reader.readline().decode("latin-1").strip()
    headers: Dict[str, str] = {}
    while True:
        header = reader.readline().decode("latin-1").strip()
        if not header:
            return line, headers
        key, _, value = header.partition(":")
        headers[key.strip().lower()] = value.strip()
