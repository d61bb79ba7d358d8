"""The HTTP/1.1 differential harness: random and hostile response bytes, read by our sans-I/O parser
(pyotritonclient.protocol.http11, as the connection uses it) and by h11 (the oracle), with the verdicts compared.

Used by tests/test_http11_differential.py (a short run in the test command) and by ``./dev fuzz`` (long run:
``PYOTRITON_FUZZ_CASES``)."""

from __future__ import annotations

import random
import re
from typing import Dict, List, Optional, Tuple

import h11

from pyotritonclient.protocol.http11 import MAX_HEAD, READERS, BadResponse, ChunkedReader, framing, parse_head

LIMIT = 1 << 20
Verdict = Tuple[str, Optional[Tuple[int, Dict[str, str], bytes]]]  # ("ok", (status, headers, body)) or ("bad", None)
FRAMING = ("content-length", "transfer-encoding", "connection")


def ours(data: bytes, splits: List[int]) -> Verdict:
    """Our parser on ``data`` delivered in pieces cut at ``splits``, then the server closes the connection."""
    pieces = [data[a:b] for a, b in zip([0, *splits], [*splits, len(data)])]
    head = b""
    reader = None
    body: List[bytes] = []
    status, headers = 0, {}
    try:
        for piece in pieces:
            if reader is None:
                head += piece
                end = head.find(b"\r\n\r\n")
                if end < 0:
                    if len(head) >= MAX_HEAD:
                        raise BadResponse("head too long")
                    continue
                http11, status, headers = parse_head(head[:end])
                frame = framing(http11, status, headers, LIMIT)
                reader = (
                    ChunkedReader(0, LIMIT) if frame.kind == "chunked" else READERS[frame.kind](frame.length, LIMIT)
                )
                piece = head[end + 4 :]
            if reader.done and piece:
                raise BadResponse("bytes after the end of the answer")
            body.extend(reader.feed(piece))
        if reader is None:
            raise BadResponse("no complete head")
        if not reader.done:
            reader.eof()
    except BadResponse:
        return ("bad", None)
    return ("ok", (status, headers, b"".join(body)))


def oracle(data: bytes, trailing: str = "bad") -> Verdict:
    """h11's reading of the same bytes (a client that sent one GET; the server closes after them). Bytes left
    after the end of the answer make it bad, as they do for our parser (nothing is pipelined on our
    connections); ``trailing="trailing"`` says so instead, with the answer read (the transport returns an
    answer that is complete and drops the connection when more bytes come)."""
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "triton")]))
    conn.send(h11.EndOfMessage())
    status, headers, body = 0, {}, []
    try:
        conn.receive_data(data)
        conn.receive_data(b"")  # the end of the connection
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Response):
                status = event.status_code
                for name, value in event.headers:
                    key, text = name.decode("latin-1"), value.decode("latin-1")
                    headers[key] = text if key not in headers else headers[key] + ", " + text
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                answer = (status, headers, b"".join(body))
                if conn.trailing_data[0]:
                    return (trailing, answer if trailing != "bad" else None)
                return ("ok", answer)
            else:  # NEED_DATA after the end of file, ConnectionClosed mid-answer, a 1xx (Triton sends none)
                return ("bad", None)
    except h11.RemoteProtocolError:
        return ("bad", None)


_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def stricter_by_design(data: bytes) -> bool:
    """Where we refuse what h11 takes, on purpose: a version other than HTTP/1.0 and 1.1, a bare LF ending a
    line of the head (h11 accepts ``\n`` alone), a folded header line (obs-fold), or control characters in the
    status line or a header value (h11 takes any byte but NUL and whitespace; RFC 9110 allows visible
    characters, spaces and tabs); the same in a chunked body's trailers. None of them comes from Triton; they
    are where response splitting and header smuggling hide."""
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]
    parts = [head]
    if b"chunked" in head.lower() and b"\r\n0" in data:  # and a chunked body's trailers
        parts.append(data[data.rindex(b"\r\n0") + 2 :])
    if not data.startswith((b"HTTP/1.0 ", b"HTTP/1.1 ")):
        return True  # h11 takes any HTTP/x.y; we speak 1.0 and 1.1 only
    folded = b"\r\n " in head or b"\r\n\t" in head  # obs-fold: h11 unfolds it, RFC 9112 §5.2 lets us refuse it
    return folded or any(b"\n" in part.replace(b"\r\n", b"") or _CONTROL.search(part) for part in parts)


def compare(data: bytes, splits: List[int]) -> str:
    """'' when we and h11 agree on ``data`` (or we refuse it by design); else what differs."""
    mine, theirs = ours(data, splits), oracle(data)
    if mine[0] == "bad" and theirs[0] == "bad":
        return ""
    if mine[0] == "bad":
        return "" if stricter_by_design(data) else f"we refuse what h11 takes: {theirs[1]}"
    if theirs[0] == "bad":
        return f"we take what h11 refuses: {mine[1]}"
    assert mine[1] is not None and theirs[1] is not None
    (status, headers, body), (status2, headers2, body2) = mine[1], theirs[1]
    # (h11 normalises the framing headers' text: compared through the body they frame instead)
    headers = {k: v for k, v in headers.items() if k not in FRAMING}
    headers2 = {k: v for k, v in headers2.items() if k not in FRAMING}
    if (status, headers, body) != (status2, headers2, body2):
        return f"we read {(status, headers, body[:40])}, h11 {(status2, headers2, body2[:40])}"
    return ""


# -- generation ----------------------------------------------------------------------------------------------


def _chunked(body: bytes, rng: random.Random) -> bytes:
    out, pos = [], 0
    while pos < len(body):
        size = rng.randint(1, max(1, len(body) - pos))
        ext = rng.choice([b"", b"", b";name=value", b";x"])
        hexed = f"{size:x}".encode()
        out.append((hexed.upper() if rng.random() < 0.3 else hexed) + ext + b"\r\n" + body[pos : pos + size] + b"\r\n")
        pos += size
    trailers = rng.choice([b"", b"", b"X-Trailer: 1\r\n"])
    out.append(b"0\r\n" + trailers + b"\r\n")
    return b"".join(out)


def valid_response(rng: random.Random) -> bytes:
    """A well-formed response as Triton (or a proxy in front of it) could send it."""
    version = rng.choice([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"])
    status = rng.choice([200, 200, 200, 400, 404, 500, 503, 204, 304])
    reason = rng.choice([b" OK", b" Whatever Reason", b" ", b""])
    body = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 5, 100, 3000])))
    headers = [(b"Content-Type", b"application/json")]
    if rng.random() < 0.5:
        headers.append((b"X-Multi", b"a"))
        headers.append((b"x-multi", b"b"))
    if status in (204, 304):
        body = b""
        framing_kind = "none"
    else:
        framing_kind = rng.choice(
            ["length", "length", "chunked", "close"] if version == b"HTTP/1.1" else ["length", "close"]
        )
    if framing_kind == "length":
        headers.append((rng.choice([b"Content-Length", b"content-length"]), str(len(body)).encode()))
        payload = body
    elif framing_kind == "chunked":
        headers.append((b"Transfer-Encoding", rng.choice([b"chunked", b"Chunked"])))
        payload = _chunked(body, rng)
    elif framing_kind == "close":
        headers.append((b"Connection", b"close"))
        payload = body
    else:
        payload = b""
    rng.shuffle(headers)
    head = version + b" " + str(status).encode() + reason + b"\r\n"
    head += b"".join(name + b":" + rng.choice([b" ", b"", b"  "]) + value + b"\r\n" for name, value in headers)
    return head + b"\r\n" + payload


def hostile_response(rng: random.Random) -> bytes:
    """A valid response, then bent: a byte changed, cut short, extra bytes, or a framing header made wrong."""
    data = bytearray(valid_response(rng))
    kind = rng.randrange(7)
    if kind == 0 and data:
        data[rng.randrange(len(data))] = rng.choice(b"\r\n :;0aZ\x00\x7f\xff-,")
    elif kind == 1:
        del data[rng.randrange(len(data) + 1) :]
    elif kind == 2:
        data += rng.choice([b"x", b"HTTP/1.1 200 OK\r\n\r\n", b"\r\n", b"0\r\n\r\n"])
    elif kind == 3:
        value = rng.choice([b"-1", b"1e3", b"0x10", b" 5", b"5, 6", b"99999999999999999999", b"", b"+5"])
        data = bytearray(bytes(data).replace(b"\r\n\r\n", b"\r\nContent-Length: " + value + b"\r\n\r\n", 1))
    elif kind == 4:
        value = rng.choice([b"gzip", b"chunked, gzip", b"identity", b"gzip, chunked", b"chunkedx"])
        data = bytearray(bytes(data).replace(b"\r\n\r\n", b"\r\nTransfer-Encoding: " + value + b"\r\n\r\n", 1))
    elif kind == 5:
        at = bytes(data).find(b"\r\n") + 2
        line = rng.choice([b" folded\r\n", b"Bad Name: x\r\n", b": empty\r\n", b"NoColon\r\n", b"X:\x00y\r\n"])
        data[at:at] = line
    else:
        for _ in range(rng.randint(1, 4)):
            if data:
                pos = rng.randrange(len(data))
                del data[pos : pos + rng.randint(1, 3)]
    return bytes(data)


def splits_for(data: bytes, rng: random.Random) -> List[int]:
    """Where the network cuts the bytes: nowhere, everywhere, or at a few random places."""
    if not data or rng.random() < 0.3:
        return []
    if len(data) < 200 and rng.random() < 0.2:
        return list(range(1, len(data)))
    return sorted(rng.sample(range(1, len(data) + 1), min(len(data), rng.randint(1, 6))))[:-1] or []
