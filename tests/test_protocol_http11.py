"""Exact answers of the sans-I/O HTTP/1.1 reader (protocol/http11.py): the framing decided from a head, each
body reader fed whole and byte by byte, and every refusal with its message. Pure: in the mutation selection;
tests/test_http11_differential.py compares the same reader with h11 on random answers."""

from __future__ import annotations

import pytest

from pyotritonclient.protocol.http11 import (
    MAX_HEAD,
    READERS,
    BadResponse,
    ChunkedReader,
    CloseReader,
    Framing,
    LengthReader,
    TooLarge,
    framing,
    parse_head,
)

LIMIT = 1000


@pytest.mark.parametrize(
    "http11, status, headers, expected",
    [
        (True, 200, {"content-length": "5"}, Framing("length", 5, True)),
        (True, 200, {"content-length": "0"}, Framing("length", 0, True)),
        (True, 200, {"content-length": "5", "connection": "close"}, Framing("length", 5, False)),
        (True, 200, {"content-length": "5", "connection": "Keep-Alive, Close"}, Framing("length", 5, False)),
        (False, 200, {"content-length": "5"}, Framing("length", 5, False)),
        (False, 200, {"content-length": "5", "connection": "keep-alive"}, Framing("length", 5, True)),
        (True, 200, {"transfer-encoding": "chunked"}, Framing("chunked", 0, True)),
        (True, 200, {"transfer-encoding": "Chunked", "content-length": "7"}, Framing("chunked", 0, True)),
        (True, 200, {}, Framing("close", 0, False)),
        (True, 404, {"connection": "keep-alive"}, Framing("close", 0, False)),
        (True, 204, {}, Framing("length", 0, True)),
        (True, 304, {"content-length": "99"}, Framing("length", 0, True)),
        (True, 304, {"transfer-encoding": "chunked"}, Framing("length", 0, True)),
        (True, 100, {}, Framing("length", 0, True)),
        (True, 199, {"content-length": "3"}, Framing("length", 0, True)),
        (True, 200, {"content-length": str(LIMIT)}, Framing("length", LIMIT, True)),
        (True, 204, {"content-length": "9" * 40}, Framing("length", 0, True)),  # checked, not used
    ],
)
def test_the_framing_of_a_head(http11, status, headers, expected):
    assert framing(http11, status, headers, LIMIT) == expected


@pytest.mark.parametrize(
    "status, headers, error, message",
    [
        (200, {"content-length": "x"}, BadResponse, "bad Content-Length 'x'"),
        (200, {"content-length": "-1"}, BadResponse, "bad Content-Length '-1'"),
        (200, {"content-length": ""}, BadResponse, "bad Content-Length ''"),
        (200, {"content-length": "\uff15"}, BadResponse, "bad Content-Length '\uff15'"),
        (200, {"content-length": "9" * 41}, BadResponse, "bad Content-Length '" + "9" * 40 + "'"),
        (204, {"content-length": "1e3"}, BadResponse, "bad Content-Length '1e3'"),
        (200, {"transfer-encoding": "chunked", "content-length": "0x10"}, BadResponse, "bad Content-Length '0x10'"),
        (200, {"transfer-encoding": "gzip"}, BadResponse, "unsupported Transfer-Encoding 'gzip'"),
        (304, {"transfer-encoding": "identity"}, BadResponse, "unsupported Transfer-Encoding 'identity'"),
        (200, {"content-length": str(LIMIT + 1)}, TooLarge, f"the answer is {LIMIT + 1} bytes, more than "),
    ],
)
def test_framing_refusals(status, headers, error, message):
    with pytest.raises(error) as refused:
        framing(True, status, headers, LIMIT)
    assert str(refused.value).startswith(message), str(refused.value)
    if error is TooLarge:
        assert str(refused.value) == f"the answer is {LIMIT + 1} bytes, more than max_response_bytes ({LIMIT})"


def test_heads():
    assert parse_head(b"HTTP/1.1 999 Whatever\tit is\r\nA: 1\r\nContent-Length: 3\r\ncontent-length: 3") == (
        True,
        999,
        {"a": "1", "content-length": "3"},
    )
    assert parse_head(b"HTTP/1.0 100") == (False, 100, {})
    assert parse_head(b"HTTP/1.1 200 \r\nX: \t a b \t") == (True, 200, {"x": "a b"})
    for head, message in [
        (b"HTTP/1.1 099 Low", "status 99 is not one of HTTP's (100-999)"),
        (b"HTTP/1.1 000", "status 0 is not one of HTTP's (100-999)"),
        (b"HTTP/1.1 200 O\x01K", "not an HTTP/1.x status line: b'HTTP/1.1 200 O\\x01K'"),
        (b"HTTP/1.2 200 OK", "not an HTTP/1.x status line: b'HTTP/1.2 200 OK'"),
        (b"HTTP/1.1 20 OK", "not an HTTP/1.x status line: b'HTTP/1.1 20 OK'"),
        (b"HTTP/1.1 200 OK\r\n folded: x", "bad header line b' folded: x'"),
        (b"HTTP/1.1 200 OK\r\nA:\x7f", "bad header line b'A:\\x7f'"),
        (b"HTTP/1.1 200 OK\r\nA\x00: b", "bad header line b'A\\x00: b'"),
        (b"HTTP/1.1 200 OK\r\n: b", "bad header line b': b'"),
        (b"HTTP/1.1 200 OK\r\nA b", "bad header line b'A b'"),
    ]:
        with pytest.raises(BadResponse) as refused:
            parse_head(head)
        assert str(refused.value) == message


def _feed_bytewise(reader, data):
    pieces = []
    for i in range(len(data)):
        pieces.extend(reader.feed(data[i : i + 1]))
    return pieces


def test_the_readers_table():
    assert READERS == {"length": LengthReader, "chunked": ChunkedReader, "close": CloseReader}


def test_a_length_body():
    reader = LengthReader(5, LIMIT)
    assert (reader.done, reader.feed(b""), reader.feed(b"ab"), reader.done) == (False, [], [b"ab"], False)
    assert (reader.feed(b"cde"), reader.done, reader.size) == ([b"cde"], True, 5)
    with pytest.raises(BadResponse, match="^more bytes than Content-Length$"):
        reader.feed(b"x")
    assert LengthReader(0, LIMIT).done is True
    with pytest.raises(BadResponse, match="^more bytes than Content-Length$"):
        LengthReader(2, LIMIT).feed(b"abc")
    cut = LengthReader(4, LIMIT)
    cut.feed(b"ab")
    with pytest.raises(BadResponse) as refused:
        cut.eof()
    assert str(refused.value) == "the server closed the connection in the middle of the body"
    done = LengthReader(1, LIMIT)
    done.feed(b"a")
    done.eof()  # complete: fine
    with pytest.raises(TooLarge) as refused:
        LengthReader(20, 10).feed(b"x" * 11)
    assert str(refused.value) == "the answer is more than max_response_bytes (10)"
    exact = LengthReader(10, 10)
    assert exact.feed(b"x" * 10) == [b"x" * 10] and exact.done


def test_a_body_until_close():
    reader = CloseReader(0, 5)
    assert (reader.feed(b""), reader.feed(b"abc"), reader.done) == ([], [b"abc"], False)
    reader.eof()
    assert reader.done is True
    with pytest.raises(TooLarge, match=r"^the answer is more than max_response_bytes \(5\)$"):
        reader.feed(b"def")


CHUNKED = b"3;name=value\r\nabc\r\nA\r\n0123456789\r\n1\r\nZ\r\n0\r\nX-Trailer: 1\r\n\r\n"


def test_a_chunked_body_whole_and_byte_by_byte():
    whole = ChunkedReader(0, LIMIT)
    assert whole.feed(CHUNKED) == [b"abc", b"0123456789", b"Z"] and whole.done and whole.size == 14
    assert whole.feed(b"") == []
    bytewise = ChunkedReader(0, LIMIT)
    assert _feed_bytewise(bytewise, CHUNKED) == [b"abc", b"0123456789", b"Z"] and bytewise.done
    streamed = ChunkedReader(0, LIMIT, partial=True)
    assert b"".join(_feed_bytewise(streamed, CHUNKED)) == b"abc0123456789Z" and streamed.done
    assert len(_feed_bytewise(ChunkedReader(0, LIMIT, partial=True), CHUNKED)) == 14  # each byte as it came
    empty = ChunkedReader(0, LIMIT)
    assert empty.feed(b"0\r\n\r\n") == [] and empty.done
    spaced = ChunkedReader(0, LIMIT)
    assert spaced.feed(b"2 \t;x\r\nhi\r\n0\r\n\r\n") == [b"hi"] and spaced.done
    waiting = ChunkedReader(0, LIMIT)
    assert waiting.feed(b"5\r\nab") == [] and not waiting.done  # the rest of the chunk has not come
    assert waiting.feed(b"cde\r") == [] and waiting.feed(b"\n") == [b"abcde"]
    with pytest.raises(BadResponse) as refused:
        waiting.eof()
    assert str(refused.value) == "the server closed the connection in the middle of the body"


@pytest.mark.parametrize(
    "data, error, message",
    [
        (b"g\r\n", BadResponse, "bad chunk size b'g'"),
        (b"\r\n", BadResponse, "bad chunk size b''"),
        (b"1" * 16 + b"\r\n", BadResponse, "bad chunk size b'1111111111111111'"),
        (b"2;a\nb\r\nhi\r\n", BadResponse, "bad chunk size b'2'"),
        (b"3\r\nabcX\r\n", BadResponse, "a chunk does not end with CRLF"),
        (b"0\r\nBad Trailer\r\n\r\n", BadResponse, "bad trailer line b'Bad Trailer'"),
        (b"0\r\n\r\nHTTP/1.1 200 OK\r\n", BadResponse, "bytes after the end of a chunked body"),
        (b"x" * 1025, BadResponse, "chunk size line too long"),
        (b"0\r\n" + b"x" * (MAX_HEAD + 1), BadResponse, "trailers too long"),
        (b"B\r\n" + b"x" * 11 + b"\r\n", TooLarge, "the answer is more than max_response_bytes (10)"),
    ],
)
def test_chunked_refusals(data, error, message):
    with pytest.raises(error) as refused:
        ChunkedReader(0, 10 if error is TooLarge else LIMIT).feed(data)
    assert str(refused.value) == message


def test_chunked_bounds_are_exact():
    assert ChunkedReader(0, 1 << 62).feed(b"1" * 15 + b"\r\n") == []  # 15 hex digits: a size (none of it came)
    with pytest.raises(TooLarge, match=r"more than max_response_bytes \(10\)"):  # refused on the size line
        ChunkedReader(0, 10).feed(b"B\r\n")
    with pytest.raises(TooLarge):  # the declared sizes add up
        ChunkedReader(0, 10).feed(b"5\r\n12345\r\n6\r\n")
    assert ChunkedReader(0, 10).feed(b"5\r\n12345\r\n5\r\n") == [b"12345"]
    assert ChunkedReader(0, LIMIT).feed(b"x" * 1024) == []  # a size line of 1,024 bytes may still end
    assert ChunkedReader(0, LIMIT).feed(b"0\r\n" + b"x" * MAX_HEAD) == []
    exact = ChunkedReader(0, 10)
    assert exact.feed(b"A\r\n" + b"x" * 10 + b"\r\n0\r\n\r\n") == [b"x" * 10] and exact.done
    finished = ChunkedReader(0, LIMIT)
    finished.feed(b"0\r\n\r\n")
    with pytest.raises(BadResponse, match="^bytes after the end of a chunked body$"):
        finished.feed(b"x")


def test_sizes_and_server_lists_exactly():
    from pyotritonclient.errors import InvalidInputError
    from pyotritonclient.protocol.tensors import expected_nbytes
    from pyotritonclient.protocol.urls import server_list

    assert (expected_nbytes("FP32", [2, 3]), expected_nbytes("TYPE_INT16", [4]), expected_nbytes("BYTES", [2])) == (
        24,
        8,
        None,
    )
    with pytest.raises(ValueError, match="unknown Triton datatype 'FP3'"):
        expected_nbytes("FP3", [1])
    assert server_list(" http://a:1 , ,http://b:2,") == ["http://a:1", "http://b:2"]
    assert server_list(("http://a:1", " ")) == ["http://a:1"] and server_list([]) == [] and server_list("") == []
    for bad in (None, ["http://a", 3], {"http://a"}):
        with pytest.raises(InvalidInputError) as refused:
            server_list(bad)  # type: ignore[arg-type]
        assert str(refused.value) == f"server_url must be a URL or a list of URLs, got {type(bad).__name__}"


def test_the_one_header_rule():
    from pyotritonclient.protocol.http11 import safe_header

    assert safe_header("X-A", "b c\t") and safe_header("", "")
    for name, value in [("X\r", "v"), ("X", "v\n"), ("X", "a\0b"), (1, "v"), ("X", None), ("X", b"v")]:
        assert not safe_header(name, value), (name, value)
