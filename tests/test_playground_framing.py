"""The playground's server under hostile or unusual framing (issue 24): bad and huge Content-Lengths refused at
once, bodies streamed, chunked bodies forwarded, HEAD without a body, silent clients dropped, handlers bounded,
no second response after the head. Against the real Triton; a hand-written upstream where a real one cannot
show what happened (a body arriving, a broken answer)."""

from __future__ import annotations

import socket
from typing import Dict, Tuple

from loopback import read_head
from test_playground_security import ADD_SUB, Recorder, add_sub_output, ask, running

from pyotritonclient.playground.server import TOKEN_HEADER, Playground


def raw(server: Playground, data: bytes, read_until_close: bool = True) -> bytes:
    with socket.create_connection(server.server_address[:2], timeout=60) as connection:
        connection.sendall(data)
        if not read_until_close:
            return connection.recv(65536)
        chunks = []
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def head(server: Playground, method: str, path: str, extra: str) -> bytes:
    port = server.server_address[1]
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{TOKEN_HEADER}: {server.token}\r\n{extra}".encode()


def test_bad_and_huge_content_lengths_are_refused_at_once(triton, capfd):
    with running(triton.http_url) as server:
        answer = raw(server, head(server, "POST", "/triton/v2/models/add_sub/infer", "Content-Length: abc\r\n\r\n"))
        assert answer.startswith(b"HTTP/1.1 400") and b"Content-Length" in answer
        # 4 GB declared, nothing sent: refused before reading (no thread left waiting for the body)
        answer = raw(
            server, head(server, "POST", "/triton/v2/models/add_sub/infer", "Content-Length: 4000000000\r\n\r\n")
        )
        assert answer.startswith(b"HTTP/1.1 413") and b"--max-body-mb" in answer
        both = "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        assert raw(server, head(server, "POST", "/triton/v2/models/add_sub/infer", both)).startswith(b"HTTP/1.1 400")
    with running(triton.http_url, max_body_bytes=1000) as server:
        status, _, body = ask(server, "POST", "/triton/v2/models/add_sub/infer", b"x" * 1001)
        assert status == 413
    assert "Traceback" not in capfd.readouterr().err


def test_request_bodies_stream_to_triton():
    """The first MiB reaches the upstream while the client has not sent the rest: nothing is read whole."""
    upstream = Recorder()
    try:
        with running(upstream.url) as server, socket.create_connection(server.server_address[:2], timeout=60) as c:
            total = 8 << 20
            c.sendall(head(server, "POST", "/triton/v2/models/m/infer", f"Content-Length: {total}\r\n\r\n"))
            c.sendall(b"\0" * (2 << 20))
            assert upstream.first_bytes.wait(60)  # the upstream has bytes; 6 MiB are not even sent yet
            c.sendall(b"\0" * (total - (2 << 20)))
            answer = b""
            while b'{"ok": true}' not in answer:
                part = c.recv(65536)
                assert part, answer
                answer += part
        assert len(upstream.requests[-1][2]) == total
    finally:
        upstream.close()


def read_answer(reader, method: str = "GET") -> Tuple[int, Dict[str, str], bytes]:
    """One HTTP/1.1 answer from ``reader``, framed by its Content-Length or chunked (nothing read past it)."""
    line, headers = read_head(reader)
    status = int(line.split()[1])
    if method == "HEAD":
        return status, headers, b""
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int(reader.readline().strip(), 16)
            body += reader.read(size)
            reader.readline()
            if not size:
                return status, headers, body
    return status, headers, reader.read(int(headers.get("content-length", "0")))


def test_a_chunked_request_body_reaches_triton_and_the_connection_stays_in_step(triton):
    with running(triton.http_url) as server, socket.create_connection(server.server_address[:2], timeout=60) as c:
        parts = [ADD_SUB[:50], ADD_SUB[50:]]
        chunked = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        c.sendall(
            head(server, "POST", "/triton/v2/models/add_sub/infer", "Transfer-Encoding: chunked\r\n\r\n") + chunked
        )
        c.sendall(head(server, "GET", "/triton/v2/health/ready", "\r\n"))
        reader = c.makefile("rb")
        status, _, body = read_answer(reader)
        assert status == 200 and add_sub_output(body) == [i + 1 for i in range(16)]
        assert read_answer(reader)[0] == 200  # the next request on the same connection: in step


def test_head_has_no_body_and_the_next_request_follows(triton):
    with running(triton.http_url) as server, socket.create_connection(server.server_address[:2], timeout=60) as c:
        c.sendall(head(server, "HEAD", "/", "\r\n") + head(server, "HEAD", "/triton/v2", "\r\n"))
        c.sendall(head(server, "GET", "/triton/v2/health/live", "\r\n"))
        reader = c.makefile("rb")
        status, headers, _ = read_answer(reader, "HEAD")
        assert status == 200 and int(headers["content-length"]) > 1000  # the page's length, not its bytes
        read_answer(reader, "HEAD")  # Triton's answer to HEAD, whatever its status, without a body
        status, _, body = read_answer(reader)
        assert status == 200 and body == b""  # were any body bytes sent for a HEAD, this would read them


def test_a_silent_client_is_dropped_after_the_timeout(triton):
    with running(triton.http_url, client_timeout=0.5) as server:
        assert raw(server, b"GET / HTTP/1.1\r\nHost: 127") == b""  # half a head, then silence: closed


def test_handlers_are_bounded(triton):
    with running(triton.http_url, max_handlers=2, client_timeout=30) as server:
        stalled = [socket.create_connection(server.server_address[:2], timeout=60) for _ in range(2)]
        try:
            for connection in stalled:  # each holds a handler: half a head
                connection.sendall(b"GET / HTTP/1.1\r\n")
            server.wait_handlers(2)
            answer = raw(server, head(server, "GET", "/", "\r\n"))
            assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
        finally:
            for connection in stalled:
                connection.close()


def test_a_broken_upstream_after_the_headers_gets_no_second_response():
    upstream = Recorder(broken=True)
    try:
        with running(upstream.url) as server:
            answer = raw(server, head(server, "POST", "/triton/v2/models/m/infer", "Content-Length: 2\r\n\r\n{}"))
        assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1") == 1
        assert answer.endswith(b"0123456789")  # the body ends short: the client sees the break
    finally:
        upstream.close()
