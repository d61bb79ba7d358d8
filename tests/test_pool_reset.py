"""A member that dies between two calls (issue 34, finding 14): a call sent on a kept-alive connection to it
goes to the live server. The window: the connection, idle at the death, was written to; the server (gone) reset
it with the request unread, a new connection was refused, and the call could not move because the first write
"might have been received". A reset before any answer means the server never read the request (the kernel
resets a connection closed with unread data): the call was not received, and moves on. A hand-written member
(a real Triton cannot be killed between two chosen calls), relaying to the real Triton until it dies."""

from __future__ import annotations

import select
import socket
import threading

import numpy as np
from loopback import LoopbackServer, read_head, relayed

from pyotritonclient.engine.options import ExecuteOptions
from pyotritonclient.engine.pool import ServerPool
from pyotritonclient.engine.session import Session


class DiesAfterOneInference(LoopbackServer):
    """Relays to the real Triton until it has answered one inference; then it dies as a killed process does:
    it stops listening, and a kept-alive connection is closed, once a request arrives on it, with the request
    unread (so the kernel resets it)."""

    def __init__(self, triton) -> None:
        self.triton = triton
        self.dead = threading.Event()
        self.inferences = 0
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        try:
            while True:
                while not select.select([connection], [], [], 0.05)[0]:  # idle: waiting for a request
                    pass
                if self.dead.is_set():
                    return  # closed below with the request unread
                line, headers = read_head(reader)
                if not line:
                    return
                method, path = line.split(" ")[:2]
                body = reader.read(int(headers.get("content-length", "0")))
                connection.sendall(self.relay(method, path, headers, body))
                if path.endswith("/infer"):
                    self.inferences += 1
                    self.listener.close()
                    self.dead.set()
        finally:
            reader.close()
            connection.close()

    def relay(self, method: str, path: str, headers, body: bytes) -> bytes:
        status, data, kept = relayed(self.triton.http_url, method, path, headers, body)
        head = b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n" % (status, len(data))
        for key, value in kept:
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                head += f"{key}: {value}\r\n".encode()
        return head + b"\r\n" + data


def inputs():
    return [np.arange(16, dtype=np.int32), np.ones(16, dtype=np.int32)]


async def test_a_call_on_a_connection_the_dead_member_reset_goes_to_the_live_one(triton):
    dying = DiesAfterOneInference(triton)
    pool = ServerPool([Session(dying.url), Session(triton.http_url)])
    try:
        options = ExecuteOptions()  # not idempotent: moved only when certainly not received
        answered = []
        while not dying.dead.is_set():  # until the member has answered one inference (then it is dead)
            answered.append(await pool.execute("add_sub", inputs(), options))
        for _ in range(4):  # every later call: the live server (some through the dead member's connections)
            answered.append(await pool.execute("add_sub", inputs(), options))
        assert all(r["OUTPUT0"].tolist() == list(range(1, 17)) for r in answered)
        assert dying.inferences == 1
    finally:
        await pool.close()
        dying.close()
