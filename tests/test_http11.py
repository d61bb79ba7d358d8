"""The HTTP/1.1 transport on its own, against scripted servers: bytes a real server would not send (broken
framing, lies about lengths, silence, closed connections), and what must hold around them (reuse, limits,
cancellation leaving the pool healthy). The real Triton runs through it in every other client test."""

from __future__ import annotations

import asyncio
import time

import pytest

from pyotritonclient.transport import Deadline, Request, TransportClosed, TransportError, TransportTimeout
from pyotritonclient.transport.asyncio_http11 import Http11Transport

NO_DEADLINE = Deadline()


class Scripted:
    """A TCP server that reads each request (head and Content-Length body) and answers with ``reply(n)``."""

    def __init__(self, reply):
        self.reply = reply
        self.requests = 0
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.bodies = []

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v2/x"
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer):
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.bodies.append(await reader.readexactly(length))
                self.requests += 1
                keep = await self.reply(self.requests, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


def answer(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra) + body


async def test_a_response_in_tiny_pieces_and_a_kept_alive_connection():
    async def reply(n, writer):
        for byte in answer(b"hello %d" % n):
            writer.write(bytes([byte]))
            await writer.drain()
        return True

    async with Scripted(reply) as server:
        transport = Http11Transport()
        for n in (1, 2, 3):
            response = await transport.send(Request("GET", server.url), NO_DEADLINE)
            assert (response.status, bytes(response.body)) == (200, b"hello %d" % n)
        assert server.connections == 1 and transport.stats == {"requests": 3, "connections_created": 1}
        await transport.close()


async def test_chunked_with_extensions_and_trailers_whole_and_streamed():
    async def reply(n, writer):
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"data: 1\n\n", b"data: 2\n\n"):
            writer.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\nX-Trailer: t\r\n\r\n")
        return True

    async with Scripted(reply) as server:
        transport = Http11Transport()
        response = await transport.send(Request("POST", server.url, {}, [b"{}"]), NO_DEADLINE)
        assert bytes(response.body) == b"data: 1\n\ndata: 2\n\n"
        async with transport.stream(Request("POST", server.url, {}, [b"{}"]), NO_DEADLINE) as stream:
            arrived = []
            async for chunk in stream.chunks():
                arrived.append((chunk, time.monotonic()))
        assert b"".join(c for c, _ in arrived) == b"data: 1\n\ndata: 2\n\n"
        assert arrived[-1][1] - arrived[0][1] >= 0.04  # the first piece came before the last was sent
        assert transport.stats["connections_created"] == 1  # both exchanges on one connection
        await transport.close()


async def test_a_body_read_until_close_and_connection_close():
    async def reply(n, writer):
        if n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
            return False
        writer.write(answer(b"once", b"Connection: close\r\n"))
        return False

    async with Scripted(reply) as server:
        transport = Http11Transport()
        assert bytes((await transport.send(Request("GET", server.url), NO_DEADLINE)).body) == b"until the end"
        assert bytes((await transport.send(Request("GET", server.url), NO_DEADLINE)).body) == b"once"
        assert transport.stats["connections_created"] == 2
        await transport.close()


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"HTCPCP/1.0 418 teapot\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * (70 * 1024), "response headers longer than 65536 bytes"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab", "two different Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "99999999999 bytes, more than max_response_bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdeXY", "a chunk does not end with CRLF"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported Transfer-Encoding"),
        (b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n", "bad header line"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"x" * 1024 + b"\r\n",
            "more than max",
        ),
    ],
)
async def test_broken_answers_are_errors_that_say_what_is_wrong(raw, message):
    async def reply(n, writer):
        writer.write(raw)
        await writer.drain()
        await asyncio.sleep(15)  # keep the connection open past the client's timeout: it must not wait for more
        return False

    async with Scripted(reply) as server:
        transport = Http11Transport(max_response_bytes=1000, network_timeout=10)
        # (a client that waited for more would get the 10 s timeout or the close after 5 s: another message)
        with pytest.raises(TransportError, match=message) as info:
            await transport.send(Request("GET", server.url), NO_DEADLINE)
        assert "bad HTTP response" in str(info.value) or "max_response_bytes" in str(info.value)
        await transport.close()


async def test_a_truncated_answer_and_an_idle_connection_the_server_closed():
    async def reply(n, writer):
        if n == 1:
            writer.write(answer(b"first"))
            await writer.drain()
            return False  # closes the kept-alive connection after answering
        if n == 2:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            await writer.drain()
            return False
        writer.write(answer(b"third"))
        return True

    async with Scripted(reply) as server:
        transport = Http11Transport()
        assert bytes((await transport.send(Request("GET", server.url), NO_DEADLINE)).body) == b"first"
        while server.open_now:  # the server has closed the idle connection
            await asyncio.sleep(0.01)
        with pytest.raises(TransportError, match="closed the connection in the middle of its answer"):
            await transport.send(Request("GET", server.url), NO_DEADLINE)
        assert bytes((await transport.send(Request("GET", server.url), NO_DEADLINE)).body) == b"third"
        await transport.close()


async def test_silence_is_a_timeout_and_the_pool_stays_healthy_after_cancellation():
    async def reply(n, writer):
        if n in (1, 2):
            await asyncio.sleep(30)  # never answers in time
            return False
        if n == 4:
            await asyncio.sleep(1)
        writer.write(answer(b"fine"))
        return True

    async with Scripted(reply) as server:
        transport = Http11Transport(network_timeout=0.3)
        with pytest.raises(TransportError, match="timed out: no data for 0.3 s") as info:
            await transport.send(Request("GET", server.url), NO_DEADLINE)
        assert isinstance(info.value, TransportTimeout)
        task = asyncio.ensure_future(transport.send(Request("GET", server.url), NO_DEADLINE))
        while server.requests < 2:  # the request is in flight: the server has it (and never answers)
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert bytes((await transport.send(Request("GET", server.url), NO_DEADLINE)).body) == b"fine"
        assert transport.stats["connections_created"] == 3  # the cut exchanges' connections were not reused
        with pytest.raises(TransportError, match="timed out after 0.2 s") as info:
            await transport.send(Request("GET", server.url), Deadline(0.2))  # the whole call's limit
        assert isinstance(info.value, TransportTimeout)
        await transport.close()


async def test_the_concurrency_limit_and_large_bodies_in_slices():
    async def reply(n, writer):
        await asyncio.sleep(0.05)
        writer.write(answer(b"%d" % len(server.bodies[n - 1])))
        return True

    async with Scripted(reply) as server:
        transport = Http11Transport(concurrency=2)
        big = bytes(range(256)) * (8 * 4096)  # 8 MiB, sent as views in slices
        results = await asyncio.gather(
            *(transport.send(Request("POST", server.url, {}, [b"head", big]), NO_DEADLINE) for _ in range(6))
        )
        assert [bytes(r.body) for r in results] == [b"%d" % (len(big) + 4)] * 6
        assert server.most_open <= 2 and all(body == b"head" + big for body in server.bodies)
        await transport.close()
        with pytest.raises(TransportError, match="this client is closed") as info:
            await transport.send(Request("GET", server.url), NO_DEADLINE)
        assert isinstance(info.value, TransportClosed)


async def test_cannot_connect_names_the_url(refused_url):
    transport = Http11Transport(connection_timeout=2)
    with pytest.raises(TransportError, match=f"cannot connect to {refused_url}/v2: .*(refused|failed)"):
        await transport.send(Request("GET", f"{refused_url}/v2"), NO_DEADLINE)


def test_a_response_head_is_parsed_by_a_pure_function_that_checks_every_line():
    from pyotritonclient.protocol.http11 import BadResponse, parse_head

    http11, status, headers = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nVary: a\r\nVARY: b\r\nX-Empty:")
    assert (http11, status, headers["content-length"], headers["vary"], headers["x-empty"]) == (
        True,
        200,
        "5",
        "a, b",
        "",
    )
    assert parse_head(b"HTTP/1.0 404 Not Found")[:2] == (False, 404)
    for head, message in [
        (b"HTTP/2 200 OK", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nno colon", "bad header line"),
        (b"HTTP/1.1 200 OK\r\nBad Name: x", "bad header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2", "two different Content-Length"),
    ]:
        with pytest.raises(BadResponse, match=message):
            parse_head(head)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "4", None])
def test_one_concurrency_rule_for_the_transports_and_the_scheduler(bad):
    import asyncio as aio

    from pyotritonclient.api import run_bounded
    from pyotritonclient.errors import InvalidInputError
    from pyotritonclient.transport.aiohttp import AiohttpTransport
    from pyotritonclient.transport.asyncio_http11 import Http11Transport

    for make in (lambda: Http11Transport(concurrency=bad), lambda: AiohttpTransport(concurrency=bad)):
        with pytest.raises(InvalidInputError, match=r"^concurrency must be at least 1, got "):
            make()
    with pytest.raises(ValueError, match=r"concurrency must be at least 1"):  # (InvalidInputError is one)
        aio.run(run_bounded(lambda item: aio.sleep(0), [1], bad))
