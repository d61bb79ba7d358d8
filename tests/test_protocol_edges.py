"""The sans-I/O layer's edges, each expectation written out by hand: URLs and redaction, server-sent events,
BYTES framing, request validation, response-header scanning, error bodies, compression."""

from __future__ import annotations

import array
import gzip
import json
import struct
import zlib

import pytest

from pyotritonclient.errors import InvalidInputError
from pyotritonclient.protocol import compression, dtypes, endpoints, inference, sse, tensors
from pyotritonclient.protocol.tensors import ProtocolError


@pytest.mark.parametrize(
    "url, redacted",
    [
        ("https://alice:s3cret@host:8443/prefix/v2", "https://***@host:8443/prefix/v2"),
        ("http://a:b@c@host/", "http://***@host/"),  # the last "@" ends the userinfo
        ("http://token@host", "http://***@host"),
        ("http://host:8000/v2?x=1", "http://host:8000/v2?x=1"),
        ("http://[::1", "<unparsable URL>"),
    ],
)
def test_redact_url(url, redacted):
    assert endpoints.redact_url(url) == redacted


def test_redact_headers():
    headers = {"Authorization": "Bearer x", "X-Api-Key": "k", "Cookie": "c", "X-Auth-Token": "t", "Accept": "a/b"}
    assert endpoints.redact_headers(headers) == {
        "Authorization": "<redacted>",
        "X-Api-Key": "<redacted>",
        "Cookie": "<redacted>",
        "X-Auth-Token": "<redacted>",
        "Accept": "a/b",
    }


@pytest.mark.parametrize(
    "url, ssl, base",
    [
        ("localhost:8000", False, "http://localhost:8000/"),
        ("localhost:8000", True, "https://localhost:8000/"),
        ("  http://h:1/triton//  ", False, "http://h:1/triton/"),
        ("https://h/", False, "https://h/"),
    ],
)
def test_base_url(url, ssl, base):
    assert endpoints.base_url(url, ssl) == base


@pytest.mark.parametrize(
    "url, message",
    [
        ("", "server url must be a non-empty str like 'localhost:8000', got ''"),
        (None, "server url must be a non-empty str like 'localhost:8000', got None"),
        ("ftp://h:1", "server url 'ftp://h:1' is not a valid http(s) URL"),
        ("http://", "server url 'http://' is not a valid http(s) URL"),
        ("ftp://u:pw@h", "server url 'ftp://***@h' is not a valid http(s) URL"),
    ],
)
def test_bad_base_urls(url, message):
    with pytest.raises(InvalidInputError) as info:
        endpoints.base_url(url)
    assert info.value.message() == message


def test_model_paths_are_quoted():
    assert endpoints.model_path("a b/c") == "v2/models/a%20b%2Fc"
    assert endpoints.model_path("m", "1/2") == "v2/models/m/versions/1%2F2"
    assert endpoints.model_path("m", "") == "v2/models/m"
    with pytest.raises(InvalidInputError, match="model_name must be a non-empty str other than '.' and '..', got ''"):
        endpoints.model_path("")


def test_sse_fields_comments_and_line_endings():
    parser = sse.SSEParser()
    events = parser.feed(b": a comment\r\nid: 7\r\nretry: 1500\rretry: soon\nevent: update\ndata: one\ndata:two\n\n")
    assert events == [sse.Event("one\ntwo", "update", "7", 1500)]
    events = parser.feed(b"data: x\r")  # a lone CR at the end may be the start of CRLF: wait
    assert events == [] and parser.feed(b"\n\r\n") == [sse.Event("x", "message", "7", 1500)]
    assert parser.feed(b"event: ping\n\n") == [sse.Event("", "ping", "7", 1500)]  # an event with no data
    assert parser.feed(b"\n\n") == []  # blank lines alone dispatch nothing
    assert parser.feed(b"data: tail") == [] and parser.close() == [sse.Event("tail", "message", "7", 1500)]
    assert sse.SSEParser().close() == []


def test_sse_is_size_capped():
    parser = sse.SSEParser(max_event_bytes=10)
    with pytest.raises(ProtocolError, match="a server-sent event line is longer than 10 bytes"):
        parser.feed(b"data: 0123456789")
    parser = sse.SSEParser(max_event_bytes=10)
    with pytest.raises(ProtocolError, match="a server-sent event holds more than 10 bytes of data"):
        parser.feed(b"data: 01234\ndata: 56789\n")


@pytest.mark.parametrize("in_place", [False, True], ids=["split from one copy", "split in place (large)"])
def test_bytes_framing(monkeypatch, in_place):
    if in_place:  # payloads over the copy limit are split from the view itself: the same rules hold
        monkeypatch.setattr(tensors, "_COPY_LIMIT", 0)
    payload = bytearray(tensors.serialize_bytes([b"ab", b"", b"\x00c"]))
    assert tensors.deserialize_bytes(memoryview(payload), count=3) == [b"ab", b"", b"\x00c"]
    assert all(type(item) is bytes for item in tensors.deserialize_bytes(memoryview(payload)))
    ints = memoryview(array.array("i", [1]))  # a non-byte memoryview is framed by its bytes
    assert tensors.serialize_bytes(["h\u00e9", b"", ints]) == (
        struct.pack("<I", 3) + "h\u00e9".encode() + struct.pack("<I", 0) + struct.pack("<I", 4) + struct.pack("<i", 1)
    )
    with pytest.raises(TypeError, match="BYTES elements must be bytes or str, got int"):
        tensors.serialize_bytes([1])
    with pytest.raises(ProtocolError, match="BYTES tensor truncated: 2 byte\\(s\\) left where a 4-byte length"):
        tensors.deserialize_bytes(struct.pack("<I", 1) + b"a" + b"\x00\x00")
    with pytest.raises(ProtocolError, match="BYTES element 1 claims 9 bytes but only 1 remain"):
        tensors.deserialize_bytes(struct.pack("<I", 0) + struct.pack("<I", 9) + b"z")
    with pytest.raises(ProtocolError, match="BYTES tensor has 1 element\\(s\\), its shape says 2"):
        tensors.deserialize_bytes(struct.pack("<I", 0), count=2)


def test_values_packing():
    assert tensors.pack_values("INT16", [-2, 3]) == struct.pack("<2h", -2, 3)
    assert tensors.pack_values("BF16", [1.0, -2.0]) == struct.pack("<2H", 0x3F80, 0xC000)
    with pytest.raises(ValueError, match="values do not fit UINT8"):
        tensors.pack_values("UINT8", [256])
    assert tensors.unpack_values("BF16", struct.pack("<2H", 0x3F80, 0xC000)) == [1.0, -2.0]
    assert tensors.unpack_values("BYTES", struct.pack("<I", 1) + b"q") == [b"q"]
    with pytest.raises(ProtocolError, match="3 bytes is not a whole number of INT16 elements"):
        tensors.unpack_values("INT16", b"abc")
    with pytest.raises(ValueError, match="input 't': shape must be a sequence of integers, got 'ab'"):
        tensors.check_shape("ab", "t")
    with pytest.raises(ValueError, match=r"input 't': shape \[2, -1\] has a negative dimension"):
        tensors.check_shape([2, -1], "t")


def test_unknown_dtypes_list_the_choices():
    with pytest.raises(ValueError) as info:
        dtypes.get_dtype("FP8")
    assert str(info.value) == (
        "unknown Triton datatype 'FP8'; expected one of "
        "BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16, BYTES"
    )
    assert dtypes.config_to_wire("TYPE_STRING") == "BYTES" and dtypes.config_to_wire("FP32") == "FP32"


def test_request_parameters_and_validation():
    assert inference.request_parameters({"a": 1}, sequence_id="s", sequence_start=True, priority=2, timeout=5) == {
        "a": 1,
        "sequence_id": "s",
        "sequence_start": True,
        "sequence_end": False,
        "priority": 2,
        "timeout": 5,
    }
    assert inference.request_parameters() == {}
    with pytest.raises(
        ValueError, match="parameter 'priority' is reserved for Triton; use the priority argument instead"
    ):
        inference.request_parameters({"priority": 1})
    for name in ("headers", "binary_data_output", "timeout", "sequence_end"):  # tritonclient 2.73's list
        with pytest.raises(ValueError, match=f"parameter '{name}' is reserved for Triton"):
            inference.request_parameters({name: 1})
    with pytest.raises(ValueError, match="'triton_x': names starting with 'triton_' are reserved for Triton"):
        inference.request_parameters({"triton_x": 1})
    with pytest.raises(ValueError, match="parameter names must be str, got 3"):
        inference.request_parameters({3: 1})
    assert inference.request_parameters({"tritonx": 1, "my_triton_": 2}) == {"tritonx": 1, "my_triton_": 2}
    with pytest.raises(TypeError, match="sequence_id must be an int or a str, got bool"):
        inference.request_parameters(sequence_id=True)
    both = inference.TensorData("x", "INT8", [1], b"\x01", [1])
    with pytest.raises(ValueError, match="input 'x' has no data \\(or both binary and JSON data\\)"):
        inference.validate_tensor(both)
    shm = inference.TensorData("x", "INT8", [1], b"\x01", parameters={"shared_memory_region": "r"})
    with pytest.raises(ValueError, match="input 'x' has both shared-memory and inline data"):
        inference.validate_tensor(shm)
    with pytest.raises(ValueError, match="input 'x': FP16 can only be sent as binary data"):
        inference.validate_tensor(inference.TensorData("x", "FP16", [1], json=[1.0]))
    with pytest.raises(ValueError, match=r"input 'x': 1 JSON values but shape \[2\] has 2 elements"):
        inference.validate_tensor(inference.TensorData("x", "INT8", [2], json=[1]))
    with pytest.raises(ValueError, match=r"input 'x': 1 bytes of data but INT16 with shape \[1\] needs 2"):
        inference.validate_tensor(inference.TensorData("x", "INT16", [1], b"\x01"))


def test_request_bodies():
    json_only = inference.build_infer_request([inference.TensorData("x", "INT8", [2], json=[1, 2])], request_id="r1")
    assert json_only.header_length is None and len(json_only.parts) == 1
    assert json.loads(json_only.parts[0]) == {
        "id": "r1",
        "parameters": {"binary_data_output": True},
        "inputs": [{"name": "x", "shape": [2], "datatype": "INT8", "data": [1, 2]}],
    }
    outputs = [inference.RequestedOutput("y", binary=False)]
    binary = inference.build_infer_request([inference.TensorData("x", "INT8", [2], b"\x01\x02")], outputs)
    head = json.loads(binary.parts[0])
    assert binary.header_length == len(binary.parts[0]) and bytes(binary.parts[1]) == b"\x01\x02"
    assert "parameters" not in head and head["outputs"] == [{"name": "y", "parameters": {"binary_data": False}}]
    with pytest.raises(ValueError, match="input 'x' is given twice"):
        inference.build_infer_request([inference.TensorData("x", "INT8", [1], b"\x01")] * 2)


@pytest.mark.parametrize(
    "body, end",
    [
        (b'{"a": "}\\"{"}rest', 13),
        (b'{"a": {"b": [1]}}\x00\x01', 17),
    ],
)
def test_the_json_header_end_is_found_past_strings_and_nesting(body, end):
    assert inference.find_json_end(body) == end


def test_bodies_that_are_no_json_header():
    with pytest.raises(ProtocolError, match="response body does not start with a JSON object"):
        inference.find_json_end(b"  ")
    with pytest.raises(ProtocolError, match="response body ends inside its JSON header"):
        inference.find_json_end(b'{"a": {')


def test_error_messages_from_error_bodies():
    assert inference.error_message(b'{"error": "bad input"}', 400) == "bad input"
    assert inference.error_message(b'{"other": 1}', 400) == '{"other": 1}'
    assert inference.error_message(b"  gateway down \n", 502) == "gateway down"
    assert inference.error_message(b"", 503) == "HTTP 503"


def test_compression_both_ways():
    parts = [b"abc" * 10, b"xyz"]
    assert gzip.decompress(compression.compress(parts, "gzip")) == b"".join(parts)
    assert zlib.decompress(compression.compress(parts, "deflate")) == b"".join(parts)
    assert compression.decompress(gzip.compress(b"q"), "gzip") == b"q"
    assert compression.decompress(zlib.compress(b"q"), "deflate") == b"q"
    assert compression.decompress(b"q", None) == b"q" and compression.decompress(b"q", "identity") == b"q"
    with pytest.raises(ProtocolError, match="unsupported Content-Encoding 'br'"):
        compression.decompress(b"q", "br")
    with pytest.raises(ValueError, match="unsupported compression 'br'"):
        compression.compress(parts, "br")


def test_more_request_edges():
    nan = inference.build_infer_request(
        [inference.TensorData("x", "INT8", [1], json=[1])], parameters={"scale": float("nan")}
    )
    assert b'"scale":NaN' in nan.parts[0] and b", " not in nan.parts[0]  # compact separators, NaN allowed
    assert inference.request_parameters(sequence_id=5) == {
        "sequence_id": 5,
        "sequence_start": False,
        "sequence_end": False,
    }
    shm_only = inference.TensorData("x", "INT8", [1], parameters={"shared_memory_region": "r"})
    inference.validate_tensor(shm_only)  # data in shared memory: nothing inline is right
    with pytest.raises(ValueError, match="input 'x': shape must be a sequence of integers"):
        inference.validate_tensor(inference.TensorData("x", "INT8", "ab", json=[1]))


def test_a_binary_size_that_is_not_an_int_is_refused():
    head = json.dumps(
        {"outputs": [{"name": "O", "datatype": "INT8", "shape": [1], "parameters": {"binary_data_size": "1"}}]}
    ).encode()
    with pytest.raises(ProtocolError, match="output 'O': binary_data_size '1' is not a non-negative int"):
        inference.parse_infer_response(head + b"\x01", len(head))


def test_sse_defaults_and_the_exact_size_limit():
    assert sse.SSEParser().feed(b"data: a\n\n") == [sse.Event("a", "message", None, None)]
    exact = sse.SSEParser(max_event_bytes=11)  # 10 characters and the newline that joins lines
    assert exact.feed(b"data: 0123456789\n\n") == [sse.Event("0123456789")]
    assert exact.feed(b"data: 0123456789\n\n") == [sse.Event("0123456789")]  # the count starts again per event
    with pytest.raises(ProtocolError, match="more than 11 bytes"):
        sse.SSEParser(max_event_bytes=11).feed(b"data: 0123456789A\n")
    parser = sse.SSEParser()
    assert parser.feed(b"data: a\n\ndata: b") == [sse.Event("a")]
    assert parser.close() == [sse.Event("b")]


def test_a_pending_event_with_its_line_ended_is_delivered_at_close():
    parser = sse.SSEParser()
    assert parser.feed(b"data: b\n") == []
    assert parser.close() == [sse.Event("b")]


def test_the_sse_parser_is_linear_in_the_bytes_it_gets(monkeypatch):
    """Counted, not timed: the bytes the parser searches for line ends add up to about the bytes it got (a
    parser that rescans its buffer per chunk searches ~n^2 / chunk bytes: 32 GiB here)."""
    searched = []

    class Counting:
        def search(self, buffer, start):
            searched.append(len(buffer) - start)
            return real.search(buffer, start)

    real = sse._EOL
    monkeypatch.setattr(sse, "_EOL", Counting())
    line = b"data: " + b"x" * (32 * 1024 * 1024) + b"\n\n"
    parser = sse.SSEParser()
    events = []
    for i in range(0, len(line), 4096):  # 8,192 small chunks of one long line
        events += parser.feed(line[i : i + 4096])
    assert len(events) == 1 and len(events[0].data) == 32 * 1024 * 1024
    assert sum(searched) <= 2 * len(line), sum(searched)


@pytest.mark.parametrize("value, length", [(None, None), ("", None), (" 12 ", 12), ("0", 0)])
def test_header_lengths(value, length):
    assert inference.header_length(value) == length


@pytest.mark.parametrize("value", ["-5", "1e3", "\u0661\u0662", "12a", " "])
def test_bad_header_lengths(value):
    with pytest.raises(ProtocolError) as info:
        inference.header_length(value)
    assert str(info.value) == f"Inference-Header-Content-Length {value!r} is not a non-negative integer"


def test_bounded_decompression_both_encodings():
    data = bytes(range(256)) * 8  # 2,048 bytes
    for encoding, packed in (("gzip", gzip.compress(data)), ("deflate", zlib.compress(data))):
        assert compression.decompress(packed, encoding, len(data)) == data  # exactly at the limit
        with pytest.raises(ProtocolError) as info:
            compression.decompress(packed, encoding, len(data) - 1)
        assert str(info.value) == f"the {encoding} body decompresses to more than {len(data) - 1} bytes"
        with pytest.raises(ProtocolError, match=f"the {encoding} body is corrupt"):
            compression.decompress(packed[:10] + b"\xff" * 10, encoding, 10_000)
    assert compression.decompress(b"raw", "identity", 1) == b"raw" and compression.decompress(b"raw", None, 1) == b"raw"
    with pytest.raises(ProtocolError) as info:
        compression.decompress(b"q", "br", 10)
    assert str(info.value) == "unsupported Content-Encoding 'br'"
