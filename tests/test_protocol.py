"""Unit tests of the sans-I/O layer: pure functions over bytes, no server, no numpy needed."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyotritonclient.protocol import (
    DTYPES,
    HEADER_LENGTH,
    ProtocolError,
    RequestedOutput,
    SSEParser,
    TensorData,
    build_infer_request,
    compress,
    config_to_wire,
    decompress,
    deserialize_bytes,
    element_count,
    error_message,
    find_json_end,
    get_dtype,
    parse_infer_response,
    request_parameters,
    serialize_bytes,
)
from pyotritonclient.protocol.tensors import pack_values, unpack_values


def response_body(outputs, extra_header=None):
    """A response body as Triton lays it out: JSON header, then the binary outputs in order."""
    header = {"model_name": "m", "model_version": "1", "outputs": []}
    header.update(extra_header or {})
    blobs = []
    for name, datatype, shape, data in outputs:
        entry = {"name": name, "datatype": datatype, "shape": shape}
        if isinstance(data, (bytes, bytearray)):
            entry["parameters"] = {"binary_data_size": len(data)}
            blobs.append(bytes(data))
        else:
            entry["data"] = data
        header["outputs"].append(entry)
    head = json.dumps(header).encode()
    return head + b"".join(blobs), len(head)


def test_dtype_table_covers_every_triton_type():
    assert set(DTYPES) == {
        "BOOL",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
        "BF16",
        "BYTES",
    }
    assert get_dtype("FP16").itemsize == 2 and get_dtype("BYTES").variable
    assert config_to_wire("TYPE_STRING") == "BYTES" and config_to_wire("TYPE_FP32") == "FP32"
    with pytest.raises(ValueError, match="unknown Triton datatype 'FLOAT'.*FP32"):
        get_dtype("FLOAT")


def test_bytes_keep_nul_and_empty_elements():
    items = [b"a\x00b", b"", b"\x00", "h\u00e9llo"]
    encoded = serialize_bytes(items)
    assert encoded[:4] == struct.pack("<I", 3)
    assert deserialize_bytes(encoded, count=4) == [b"a\x00b", b"", b"\x00", "h\u00e9llo".encode()]
    assert deserialize_bytes(b"") == []


def test_truncated_bytes_are_rejected_with_a_reason():
    encoded = serialize_bytes([b"hello"])
    with pytest.raises(ProtocolError, match="claims 5 bytes but only 2 remain"):
        deserialize_bytes(encoded[:6])
    with pytest.raises(ProtocolError, match="4-byte length"):
        deserialize_bytes(encoded + b"\x01")
    with pytest.raises(ProtocolError, match="has 1 element"):
        deserialize_bytes(encoded, count=2)


def test_request_keeps_binary_tensors_as_separate_parts():
    big = bytearray(4 * 1000)
    request = build_infer_request(
        [TensorData("A", "FP32", [10, 100], binary=memoryview(big)), TensorData("B", "INT32", [2], json=[1, 2])],
        [RequestedOutput("OUT", binary=True, class_count=3)],
        request_id="r1",
        parameters={"custom": "x"},
    )
    header = json.loads(request.parts[0])
    assert request.parts[1].obj is big  # the very buffer, not a copy
    assert request.headers[HEADER_LENGTH] == str(len(request.parts[0]))
    assert header["id"] == "r1" and header["parameters"] == {"custom": "x"}
    assert header["inputs"][0]["parameters"] == {"binary_data_size": 4000}
    assert header["inputs"][1]["data"] == [1, 2]
    assert header["outputs"] == [{"name": "OUT", "parameters": {"binary_data": True, "classification": 3}}]


def test_json_only_request_has_no_header_length_and_asks_binary_outputs():
    request = build_infer_request([TensorData("B", "BYTES", [1], json=["x"])])
    assert len(request.parts) == 1 and HEADER_LENGTH not in request.headers
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.parts[0])["parameters"] == {"binary_data_output": True}


def test_zero_element_tensor_is_valid():
    request = build_infer_request([TensorData("A", "FP32", [0, 3], binary=b"")])
    assert json.loads(request.parts[0])["inputs"][0]["parameters"]["binary_data_size"] == 0
    assert request.header_length == len(request.parts[0])


@pytest.mark.parametrize(
    "tensor, message",
    [
        (TensorData("A", "FP32", [2, 2], binary=b"\x00" * 12), "input 'A': 12 bytes of data but FP32 with shape"),
        (TensorData("A", "FP33", [1], binary=b"\x00"), "unknown Triton datatype of input 'A'"),
        (TensorData("A", "INT32", [3], json=[1, 2]), "input 'A': 2 JSON values but shape \\[3\\]"),
        (TensorData("A", "INT32", [-1], json=[]), "negative dimension"),
        (TensorData("A", "INT32", [1]), "input 'A' has no data"),
        (TensorData("A", "BF16", [1], json=[1.0]), "BF16 can only be sent as binary"),
        (TensorData("A", "FP16", [1], json=[1.0]), "FP16 can only be sent as binary"),
    ],
)
def test_bad_tensors_are_named_in_the_error(tensor, message):
    with pytest.raises(ValueError, match=message):
        build_infer_request([tensor])


def test_duplicate_inputs_and_reserved_parameters_are_refused():
    with pytest.raises(ValueError, match="given twice"):
        build_infer_request([TensorData("A", "INT8", [1], json=[1]), TensorData("A", "INT8", [1], json=[1])])
    with pytest.raises(ValueError, match="'sequence_id' is reserved"):
        request_parameters({"sequence_id": 3})


def test_sequence_parameters_accept_int_and_str_ids():
    assert request_parameters(sequence_id=7, sequence_start=True) == {
        "sequence_id": 7,
        "sequence_start": True,
        "sequence_end": False,
    }
    assert request_parameters(sequence_id="abc", sequence_end=True)["sequence_id"] == "abc"
    assert request_parameters(priority=2, timeout=1000) == {"priority": 2, "timeout": 1000}
    with pytest.raises(TypeError, match="sequence_id"):
        request_parameters(sequence_id=1.5)  # type: ignore[arg-type]


def test_parse_response_with_header_length_gives_views_on_the_body():
    body, length = response_body([("X", "UINT8", [3], b"abc"), ("Y", "INT32", [1], [5])])
    parsed = parse_infer_response(body, length)
    assert bytes(parsed.outputs["X"].binary) == b"abc"
    assert parsed.outputs["X"].binary.obj is body
    assert parsed.outputs["Y"].json == [5]
    assert parsed.model_name == "m" and parsed.model_version == "1"


def test_parse_response_without_header_length_finds_the_json_end():
    tricky = {"id": 'braces } { and "quotes" \\ in a string'}
    body, length = response_body([("X", "UINT8", [4], b'{}}"')], tricky)
    assert find_json_end(body) == length
    parsed = parse_infer_response(body)
    assert bytes(parsed.outputs["X"].binary) == b'{}}"'
    assert parsed.header["id"] == tricky["id"]


def test_truncated_and_padded_responses_are_errors():
    body, length = response_body([("X", "UINT8", [3], b"abc")])
    with pytest.raises(ProtocolError, match="truncated"):
        parse_infer_response(body[:-1], length)
    with pytest.raises(ProtocolError, match="unexpected byte"):
        parse_infer_response(body + b"!", length)
    with pytest.raises(ProtocolError, match="ends inside"):
        find_json_end(b'{"a": {')
    with pytest.raises(ProtocolError, match="does not start"):
        find_json_end(b"\x00\x01")


def test_error_message_prefers_tritons_text():
    assert error_message(b'{"error":"model not found"}', 400) == "model not found"
    assert error_message(b"plain text", 502) == "plain text"
    assert error_message(b"", 503) == "HTTP 503"


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compression_round_trip(algorithm):
    parts = [b"header", memoryview(b"\x00" * 1000)]
    packed = compress(parts, algorithm)
    assert len(packed) < 100
    assert decompress(packed, algorithm) == b"header" + b"\x00" * 1000
    with pytest.raises(ValueError, match="unsupported compression 'br'"):
        compress(parts, "br")


def test_sse_events_split_anywhere():
    stream = b'data: {"a": 1}\r\n\r\n: comment\ndata: line1\ndata: line2\n\nevent: end\ndata: {}\n\n'
    for cut in range(len(stream)):
        parser = SSEParser()
        events = parser.feed(stream[:cut]) + parser.feed(stream[cut:]) + parser.close()
        assert [e.data for e in events] == ['{"a": 1}', "line1\nline2", "{}"]
        assert events[2].event == "end"


def test_sse_last_event_without_blank_line_is_delivered_on_close():
    parser = SSEParser()
    assert parser.feed(b"data: tail") == []
    assert [e.data for e in parser.close()] == ["tail"]


# -- property tests ---------------------------------------------------------------------------

_VALUES = {
    "BOOL": st.booleans(),
    "UINT8": st.integers(0, 2**8 - 1),
    "UINT16": st.integers(0, 2**16 - 1),
    "UINT32": st.integers(0, 2**32 - 1),
    "UINT64": st.integers(0, 2**64 - 1),
    "INT8": st.integers(-(2**7), 2**7 - 1),
    "INT16": st.integers(-(2**15), 2**15 - 1),
    "INT32": st.integers(-(2**31), 2**31 - 1),
    "INT64": st.integers(-(2**63), 2**63 - 1),
    "FP16": st.floats(width=16, allow_nan=False),
    "FP32": st.floats(width=32, allow_nan=False),
    "FP64": st.floats(allow_nan=False),
    # bfloat16 values: float32s whose low 16 bits are zero
    "BF16": st.integers(0, 2**16 - 1)
    .map(lambda h: struct.unpack("<f", struct.pack("<I", h << 16))[0])
    .filter(lambda f: f == f),
    "BYTES": st.binary(max_size=20),
}


@st.composite
def tensors(draw):
    datatype = draw(st.sampled_from(sorted(_VALUES)))
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=3))
    values = draw(st.lists(_VALUES[datatype], min_size=element_count(shape), max_size=element_count(shape)))
    return datatype, shape, values


@settings(max_examples=300, deadline=None)
@given(st.lists(tensors(), min_size=1, max_size=4))
def test_round_trip_every_dtype_and_shape(items):
    """Encode inputs as a request, replay the same bytes as a response, decode: values survive."""
    inputs = [TensorData(f"T{i}", dt, shape, binary=pack_values(dt, vals)) for i, (dt, shape, vals) in enumerate(items)]
    request = build_infer_request(inputs)
    header = json.loads(request.parts[0])
    outputs = [dict(t, name=t["name"].replace("T", "O")) for t in header["inputs"]]
    head = json.dumps({"outputs": outputs}).encode()
    body = head + b"".join(bytes(p) for p in request.parts[1:])
    for length in (len(head), None):
        parsed = parse_infer_response(body, length)
        for i, (datatype, shape, values) in enumerate(items):
            out = parsed.outputs[f"O{i}"]
            assert out.datatype == datatype and out.shape == shape
            assert unpack_values(datatype, out.binary) == values
