"""Our HTTP/1.1 request writer against h11's request reader: every request head we write, h11 (as a server)
reads as the very method, target, Host, headers and body we meant; every header that could end a line or
smuggle another is refused before a byte is written. And the reading half knows which request it answers: the
answer to a HEAD has no body whatever its Content-Length says. ``./dev fuzz`` runs more cases
(PYOTRITON_FUZZ_CASES)."""

from __future__ import annotations

import asyncio
import os
import random
import string

import h11
import pytest

from pyotritonclient.protocol.deadline import Deadline
from pyotritonclient.protocol.http11 import framing, write_head
from pyotritonclient.protocol.request import BadRequest, Request
from pyotritonclient.protocol.urls import target_of
from pyotritonclient.transport.asyncio_http11 import Http11Transport

CASES = int(os.environ.get("PYOTRITON_FUZZ_CASES", "3000"))
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
VISIBLE = "".join(chr(c) for c in range(0x20, 0x7F)) + "\t" + "".join(chr(c) for c in range(0xA0, 0x100))


def h11_reads(data: bytes):
    """(method, target, headers as (lower-case name, value) pairs, body) as h11's server reads ``data``."""
    server = h11.Connection(h11.SERVER)
    server.receive_data(data)
    request = server.next_event()
    assert isinstance(request, h11.Request), request
    body = b""
    while True:
        event = server.next_event()
        if isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        else:
            raise AssertionError(f"h11 read {event!r}")
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers]
    return request.method.decode(), request.target.decode("latin-1"), headers, body


def random_request(rng: random.Random) -> Request:
    scheme = rng.choice(["http", "https"])
    host = rng.choice(["localhost", "127.0.0.1", "[::1]", "triton.example.org"])
    port = rng.choice(["", ":80", ":443", ":8000", f":{rng.randint(1, 65535)}"])
    path = "".join(rng.choice(string.ascii_letters + "/_-.%0123456789") for _ in range(rng.randint(0, 30)))
    query = rng.choice(["", "?a=1", "?x=%20y&z", "?"])
    headers = {}
    for _ in range(rng.randint(0, 6)):
        name = "".join(rng.choice(TOKEN) for _ in range(rng.randint(1, 12)))
        if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
            continue
        value = "".join(rng.choice(VISIBLE) for _ in range(rng.randint(0, 20))).strip(" \t")
        headers[name] = value
    body = [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40))) for _ in range(rng.randint(0, 3))]
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "HEAD"])
    if method in ("GET", "HEAD", "DELETE"):
        body = []
    return Request(method, f"{scheme}://{host}{port}/{path.lstrip('/')}{query}", headers, body)


@pytest.mark.parametrize("seed", range(3))
def test_h11_reads_every_request_head_we_write_as_we_meant_it(seed):
    rng = random.Random(seed)
    for case in range(CASES // 3):
        request = random_request(rng)
        target = target_of(request.url)
        data = write_head(request, target) + b"".join(bytes(part) for part in request.body)
        method, path, headers, body = h11_reads(data)
        where = f"seed {seed}, case {case}: {data[:300]!r}"
        assert method == request.method and path == target.path, where
        assert body == b"".join(bytes(part) for part in request.body), where
        found = dict(headers)
        assert found["host"] == target.host, where
        for name, value in request.headers.items():
            assert found[name.lower()] == value, where
        if request.body or request.method in ("POST", "PUT"):
            assert found["content-length"] == str(request.body_length()), where


def test_the_host_header_and_the_pool_key_come_from_the_url():
    assert target_of("http://localhost:8000/v2/models/m/infer?x=1") == (
        ("http", "localhost", 8000),
        "/v2/models/m/infer?x=1",
        "localhost:8000",
    )
    assert target_of("https://h.example/") == (("https", "h.example", 443), "/", "h.example")
    assert target_of("http://[::1]:80") == (("http", "::1", 80), "/", "[::1]")
    with pytest.raises(BadRequest, match="only http and https"):
        target_of("ftp://h/")
    for bad in ("http://h/pre fix/v2", "http://h/pr\u00e9fix/v2", "http://h/a\x7fb"):
        with pytest.raises(BadRequest, match="percent-encode"):
            target_of(bad)


@pytest.mark.parametrize(
    "name, value",
    [
        ("X-A", "one\r\nX-Smuggled: two"),
        ("X-A", "one\nX-Smuggled: two"),
        ("X-A", "one\rtwo"),
        ("X-A", "nul\0"),
        ("X-A\r\nX-B", "v"),
        ("X A", "v"),
        ("", "v"),
        ("X-A", "snowman \u2603"),
        ("X-A", 5),
    ],
)
def test_a_header_that_could_break_the_head_is_refused_before_anything_is_written(name, value):
    request = Request("GET", "http://localhost:8000/v2", {name: value})
    with pytest.raises(BadRequest, match="header"):
        write_head(request, target_of(request.url))


def test_the_answer_to_a_head_request_has_no_body():
    """RFC 9112 §6.3: whatever the answer's Content-Length, a HEAD's answer ends with its head."""
    assert framing(True, 200, {"content-length": "5"}, 100, method="HEAD") == ("length", 0, True)
    assert framing(True, 200, {"content-length": "5"}, 100, method="GET") == ("length", 5, True)


async def test_the_transport_reads_a_head_answer_without_waiting_for_a_body():
    """A real socket: the server answers a HEAD with ``Content-Length: 5`` and no body, then a GET on the same
    connection; the HEAD's answer ends at once and the GET's body is its own."""
    seen = []

    async def serve(reader, writer):
        for _ in range(2):
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head.split(b" ", 1)[0])
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + (b"" if seen[-1] == b"HEAD" else b"hello"))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v2"
    transport = Http11Transport(network_timeout=30)
    try:
        first = await transport.send(Request("HEAD", url, {}), Deadline(30))
        second = await transport.send(Request("GET", url, {}), Deadline(30))
    finally:
        await transport.close()
        server.close()
    assert (first.status, bytes(first.body)) == (200, b"")
    assert (second.status, bytes(second.body)) == (200, b"hello")
    assert seen == [b"HEAD", b"GET"] and transport.stats["connections_created"] == 1
