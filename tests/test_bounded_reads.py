"""A hostile server cannot take the client's memory past ``max_response_bytes`` (issue 34, finding 4): every
byte is counted as it arrives, and no more is allocated than has arrived plus a bounded step. Hand-written
servers (a real Triton never declares a chunk it does not send), over both CPython transports."""

from __future__ import annotations

import socket
import threading
import tracemalloc

import pytest
from loopback import LoopbackServer, read_head

from pyotritonclient.errors import InferenceServerException
from pyotritonclient.http import InferenceServerClient
from pyotritonclient.transport import Deadline, Request
from pyotritonclient.transport.aiohttp import AiohttpTransport
from pyotritonclient.transport.asyncio_connection import BODY_STEP
from pyotritonclient.transport.asyncio_http11 import Http11Transport

MiB = 1024 * 1024
LIMIT = 16 * MiB


class Flood(LoopbackServer):
    """Answers the first request with ``head``, then sends zeros in 1 MiB pieces until ``total`` bytes went
    out or the client hung up; then closes. ``sent`` counts what went out."""

    def __init__(self, head: bytes, total: int) -> None:
        self.head, self.total, self.sent = head, total, 0
        self.finished = threading.Event()
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        try:
            read_head(reader)
            connection.sendall(self.head)
            piece = bytes(MiB)
            while self.sent < self.total:
                connection.sendall(piece)
                self.sent += len(piece)
        except OSError:
            pass
        finally:
            self.finished.set()
            reader.close()
            connection.close()


TRANSPORTS = {"http11": Http11Transport, "aiohttp": AiohttpTransport}


async def peak_of(server: Flood, transport: str, limit: int) -> tuple[int, str]:
    tracemalloc.start()
    try:
        made = TRANSPORTS[transport](max_response_bytes=limit)
        async with InferenceServerClient(server.url.removeprefix("http://"), transport=made) as client:
            with pytest.raises(InferenceServerException) as failed:
                await client.get_model_config("m")
        return tracemalloc.get_traced_memory()[1], str(failed.value)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
async def test_a_chunk_declared_huge_is_refused_before_it_is_buffered(transport):
    """The review's reproduction: one chunk declared FFFFFFFFFFFF bytes long, then a stream of data; the
    client grew 400 MiB with a 16 MiB limit."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n"
    server = Flood(head, 400 * MiB)
    try:
        peak, message = await peak_of(server, transport, LIMIT)
    finally:
        server.close()
    assert "max_response_bytes" in message, message
    assert peak < LIMIT + 16 * MiB, f"{peak / MiB:.0f} MiB with a {LIMIT // MiB} MiB limit"


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
async def test_a_length_that_never_comes_is_not_allocated_up_front(transport):
    """``Content-Length: 1500000000`` (under the limit) and 4 MiB of it: the client allocated and zeroed
    1.4 GiB first. Now it holds at most one step (BODY_STEP) beyond twice what came, and reports the cut answer."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1500000000\r\n\r\n"
    server = Flood(head, 4 * MiB)
    try:
        peak, message = await peak_of(server, transport, 4 * 1024 * MiB)
    finally:
        server.close()
    assert "closed" in message or "Not enough data" in message, message  # (aiohttp's own words)
    assert peak < BODY_STEP + 32 * MiB, f"{peak / MiB:.0f} MiB for 4 MiB received"  # one step, not 1.4 GiB


async def test_a_body_longer_than_one_step_arrives_whole_and_in_order():
    """The buffer's growth path: a body of BODY_STEP + 3 MiB + 7 bytes (a pattern, so any misplaced byte
    shows) comes back exactly."""
    total = BODY_STEP + 3 * MiB + 7
    pattern = bytes(range(251)) * (total // 251 + 1)

    class Pattern(LoopbackServer):
        def serve(self, connection: socket.socket) -> None:
            reader = connection.makefile("rb")
            read_head(reader)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
            view = memoryview(pattern)[:total]
            for start in range(0, total, 3 * MiB + 1):  # parts that do not line up with the steps
                connection.sendall(view[start : start + 3 * MiB + 1])
            reader.close()

    server = Pattern()
    transport = Http11Transport()
    try:
        response = await transport.send(Request("GET", server.url + "/x"), Deadline())
        assert len(response.body) == total and bytes(response.body) == pattern[:total]
    finally:
        await transport.close()
        server.close()
