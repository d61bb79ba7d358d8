"""Hand-written servers for what a real one cannot produce (silence, a broken answer, a wedge): one base that
listens on a port from the kernel, hands each connection to ``serve`` in a thread of its own, and closes every
connection it holds on ``close()``; a relay to the real Triton that fails or rewrites chosen answers; and the one
HTTP/1.1 head reader they share."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple


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
        for line, _headers, _body in requests(connection):
            if "/v2/health/ready" in line:
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                continue
            if "/v2/repository/index" in line:
                self.index_asked.set()
            return  # hold the connection: no answer, ever


class RelayServer(LoopbackServer):
    """Relays every request to the real Triton but those whose path holds ``close_on`` (inferences unless told),
    which it reads and then closes the connection on (a server that dies with the request sent: the call may have
    run). ``states``: what its repository index says of every model, one entry per index request (the last one
    repeats; "" as Triton says, "-" no state at all). ``refuse``: inferences answered 400 "unknown model" (a
    model unloaded since the index was read); ``rewrite`` changes answers; ``hold_on`` silences one path."""

    def __init__(
        self,
        triton: Any,
        state: str = "",
        port: int = 0,
        close_on: str = "/infer",
        refuse: bool = False,
        rewrite: Optional[Callable[[str, bytes], bytes]] = None,
        hold_on: str = "",
    ) -> None:
        self.hold_on = hold_on  # a request whose path is exactly this is read and never answered
        self.triton = triton
        self.rewrite = rewrite  # (path, answer body) -> the body sent instead
        self.infers = 0  # requests it closed the connection on (or refused)
        self.states = [state]
        self.close_on = close_on
        self.refuse = refuse
        self.seen: list = []  # (method, path, headers, body) of every request
        super().__init__(port)

    def answer(self, connection: socket.socket, status: int, data: bytes, headers: Any = ()) -> None:
        head = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n" % (status, len(data))
        extra = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        head += b"".join(
            b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in extra or [("Content-Type", "application/json")]
        )
        connection.sendall(head + b"\r\n" + data)

    def serve(self, connection: socket.socket) -> None:
        for line, headers, body in requests(connection):
            method, path = line.split(" ")[:2]
            self.seen.append((method, path, headers, body))
            if self.hold_on and path == self.hold_on:
                return  # the connection stays open (held) and silent
            if self.refuse and path.endswith("/infer"):
                self.infers += 1
                self.answer(connection, 400, b'{"error": "Request for unknown model: \'add_sub\' is not found"}')
                continue
            if self.close_on in path:
                self.infers += 1
                connection.close()
                return
            status, data, returned = relayed(self.triton.http_url, method, path, headers, body)
            if "/v2/repository/index" in path:
                state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
                if state == "empty":
                    data = b"[]"
                elif state:
                    models = json.loads(data)
                    for model in models:
                        model.pop("state", None)
                        if state != "-":
                            model["state"] = state
                    data = json.dumps(models).encode()
            if self.rewrite is not None:
                data = self.rewrite(path, data)
            self.answer(connection, status, data, returned)


def relayed(
    base_url: str, method: str, path: str, headers: Dict[str, str], body: bytes
) -> Tuple[int, bytes, List[Tuple[str, str]]]:
    """One request sent on to the real server at ``base_url``: its status, body and headers."""
    request = urllib.request.Request(base_url + path, data=body or None, method=method)
    for key, value in headers.items():
        if key not in ("host", "content-length", "connection"):
            request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read(), list(answer.headers.items())
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read(), list(refused.headers.items())


def requests(connection: socket.socket) -> Iterator[Tuple[str, Dict[str, str], bytes]]:
    """Each HTTP/1.1 request on ``connection``: its first line, headers and body, until the client closes it."""
    reader = connection.makefile("rb")
    while True:
        line, headers = read_head(reader)
        if not line:
            return
        yield line, headers, reader.read(int(headers.get("content-length", "0")))


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
