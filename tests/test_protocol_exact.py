"""The protocol's exact answers where mutation testing found the tests vague (docs/contributing.md): every
refusal of a response with its exact message, SSE and BYTES edges, redaction and path segments, reserved
parameters. Pure."""

from __future__ import annotations

import struct
import zlib

import pytest

from pyotritonclient.errors import InvalidInputError
from pyotritonclient.protocol import compression, endpoints, inference, sse, tensors
from pyotritonclient.protocol.tensors import ProtocolError


def test_a_refused_binary_body_is_recognised():
    from pyotritonclient.protocol.inference import refused_binary_body

    assert refused_binary_body(422, b'{"detail": []}')
    assert refused_binary_body(500, b"Traceback ...\nfastapi.exceptions.RequestValidationError: [...]")
    assert not refused_binary_body(500, b'{"error": "deliberate failure"}')
    assert not refused_binary_body(400, b"RequestValidationError")
    assert not refused_binary_body(200, b"")


def test_the_sse_parser_edges_mutation_testing_found():
    """A leading blank line, a CR LF split across chunks, bytes that are not UTF-8, the exact line cap."""
    (event,) = sse.SSEParser().feed(b"\ndata: a\n\n")  # the first byte is a line end too
    assert event.data == "a"
    parser = sse.SSEParser()
    assert parser.feed(b"data: a\r") == []  # a final CR may be the first half of CR LF
    (event,) = parser.feed(b"\ndata: b\r\n\r\n")
    assert event.data == "a\nb"
    (event,) = sse.SSEParser().feed(b"data: \xff\xfe\n\n")  # undecodable bytes become U+FFFD, never an error
    assert event.data == "\ufffd\ufffd"
    exact = sse.SSEParser(max_event_bytes=8)
    assert exact.feed(b"data: 12") == []  # a pending line of exactly the cap is allowed
    with pytest.raises(ProtocolError, match="longer than 8 bytes"):
        exact.feed(b"3")


def test_redaction_and_segments_mutation_testing_found():
    assert endpoints.redact_headers({"X-Team-Key": "k", "Other": "v"}, secret=["x-TEAM-key"]) == {
        "X-Team-Key": "<redacted>",
        "Other": "v",
    }
    assert endpoints.base_url("triton:8000") == "http://triton:8000/"  # http unless ssl is asked for
    assert endpoints.base_url("http://h:1/prefix//") == "http://h:1/prefix/"
    assert endpoints.segment("a/b c", "x") == "a%2Fb%20c"  # a slash cannot make another path segment
    for bad in (".", ".."):
        with pytest.raises(InvalidInputError, match="model_name must be"):
            endpoints.model_path(bad)
        with pytest.raises(InvalidInputError, match="model_version must be"):
            endpoints.model_path("m", bad)


def test_bytes_elements_and_parameters_mutation_testing_found():
    pack = struct.Struct("<I").pack
    assert tensors.serialize_bytes([bytearray(b"ab"), memoryview(b"abcd")[::2]]) == pack(2) + b"ab" + pack(2) + b"ac"
    # tritonclient.utils' lenient rule: other objects as their text
    assert tensors.serialize_items([5, None, b"x"], lenient=True) == pack(1) + b"5" + pack(4) + b"None" + pack(1) + b"x"
    with pytest.raises(ValueError, match=r"^input 'tensor': shape \[-1\] has a negative dimension"):
        tensors.check_shape([-1])
    with pytest.raises(ValueError) as reserved:
        inference.request_parameters({"sequence_id": 3})
    assert str(reserved.value) == "parameter 'sequence_id' is reserved for Triton; use the sequence_id argument instead"
    for key in ("headers", "binary_data_output"):
        with pytest.raises(ValueError) as reserved:
            inference.request_parameters({key: 1})
        assert str(reserved.value) == f"parameter {key!r} is reserved for Triton"
    assert inference.request_parameters(sequence_id="") == {}
    assert inference.request_parameters(sequence_id="s")["sequence_id"] == "s"


@pytest.mark.parametrize(
    "body, length, message",
    [
        (b"[1]", None, "response body does not start with a JSON object"),
        (b'{"outputs": [', None, "response body ends inside its JSON header"),
        (b"", 0, "response JSON header is not valid JSON"),
        (b"{}", -1, "JSON header length -1 is negative"),
        (b"[]", 2, "response JSON header is not an object"),
        (b'{"outputs": {}}', None, "response 'outputs' is not a list"),
        (b'{"outputs": [{}]}', None, "a response output has no name"),
        (
            b'{"outputs": [{"name": "o", "datatype": "BYTES", "shape": [1], "data": [1]}]}',
            None,
            "output 'o': BYTES sent as JSON must be strings",
        ),
        (
            b'{"outputs": [{"name": "o", "datatype": "INT8", "shape": [1], "parameters": 3}]}',
            None,
            "output 'o': parameters are not an object",
        ),
        (b'{"outputs": []}abc', 15, "3 unexpected byte(s) after the last output"),
    ],
)
def test_every_refusal_of_an_answer_says_exactly_what_is_wrong(body, length, message):
    with pytest.raises(ProtocolError) as refused:
        inference.parse_infer_response(body, length)
    assert str(refused.value).startswith(message), str(refused.value)


def test_answers_the_parser_takes_mutation_testing_found():
    assert inference.parse_infer_response(b"{}").outputs == {}  # no outputs at all
    body = b'{"outputs": [{"name": "o", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]}'
    assert inference.parse_infer_response(body).outputs["o"].json == ["a", "b"]
    # escapes and nested objects inside the header do not end it early
    header = b'{"a": "x\\"}", "b": {"c": {}}}'
    assert inference.find_json_end(header + b"\x00\x01") == len(header)
    assert inference.error_message(b"\xff broken", 500) == "\ufffd broken"
    with pytest.raises(ProtocolError):  # a zlib stream is not gzip
        compression.decompress(zlib.compress(b"data"), "gzip")


@pytest.mark.parametrize(
    "url, shown",
    [
        ("alice:s3cret@host:8000", "***@host:8000"),
        ("alice:s3cret@host:8000/v2/models", "***@host:8000/v2/models"),
        ("alice@host", "***@host"),
        ("a:b@c@host:1", "***@host:1"),
        ("host:8000/path@x", "host:8000/path@x"),
        ("http://alice:s3cret@host:8000/", "http://***@host:8000/"),
        ("host:8000", "host:8000"),
    ],
)
def test_a_url_without_a_scheme_is_redacted_too(url, shown):
    """Issue 34, finding 8: ``user:password@host:port`` (the CLI's own form) was shown whole."""
    from pyotritonclient.protocol.urls import redact_url

    assert redact_url(url) == shown
