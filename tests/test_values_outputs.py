"""Outputs without a server: responses built by hand, shaped with numpy and without, RPC ndarrays, broken
response bodies named."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from pyotritonclient.errors import InvalidInputError
from pyotritonclient.http import InferResult
from pyotritonclient.protocol.inference import parse_infer_response
from pyotritonclient.protocol.tensors import ProtocolError
from pyotritonclient.values import outputs


def response(outputs):
    header = {"model_name": "m", "outputs": []}
    data = b""
    for name, datatype, shape, raw in outputs:
        header["outputs"].append(
            {"name": name, "datatype": datatype, "shape": shape, "parameters": {"binary_data_size": len(raw)}}
        )
        data += raw
    head = json.dumps(header).encode()
    return InferResult(parse_infer_response(head + data, len(head)))


def test_outputs_with_numpy_are_arrays_and_bytes_decode_as_asked():
    raw_text = [b'{"a": 1}', b"plain", b"\xff\xfe"]
    packed = b"".join(struct.pack("<I", len(t)) + t for t in raw_text)
    result = response([("OUT", "INT16", [2], struct.pack("<2h", -7, 300)), ("TEXT", "BYTES", [3], packed)])
    out = outputs.shape_outputs(result)
    assert out["OUT"].dtype == np.int16 and out["OUT"].tolist() == [-7, 300]
    assert out["TEXT"].tolist() == raw_text
    assert outputs.shape_outputs(result, decode_bytes=True)["TEXT"] == ['{"a": 1}', "plain", b"\xff\xfe"]
    assert outputs.shape_outputs(result, decode_json=True)["TEXT"] == [{"a": 1}, "plain", b"\xff\xfe"]
    assert outputs.plain_for_rpc({"TEXT": out["TEXT"], "OUT": out["OUT"]})["TEXT"] == [
        '{"a": 1}',
        "plain",
        "\ufffd\ufffd",
    ]


def test_outputs_without_numpy_are_rpc_ndarrays_and_nested_lists(monkeypatch):
    monkeypatch.setattr(outputs, "numpy_or_none", lambda: None)
    words = [b"a", b"bc", b"d", b"ef"]
    packed = b"".join(struct.pack("<I", len(t)) + t for t in words)
    bf16 = struct.pack("<2H", 0x3F80, 0xC000)  # 1.0 and -2.0 as bfloat16
    result = response(
        [
            ("OUT", "INT16", [2], struct.pack("<2h", -7, 300)),
            ("TEXT", "BYTES", [2, 2], packed),
            ("B", "BF16", [2], bf16),
        ]
    )
    out = outputs.shape_outputs(result)
    assert out["OUT"] == {
        "_rtype": "ndarray",
        "_rvalue": struct.pack("<2h", -7, 300),
        "_rshape": [2],
        "_rdtype": "int16",
    }
    assert out["TEXT"] == [[b"a", b"bc"], [b"d", b"ef"]]
    assert out["B"]["_rdtype"] == "float32" and struct.unpack("<2f", out["B"]["_rvalue"]) == (1.0, -2.0)
    assert outputs.shape_outputs(result, decode_bytes=True)["TEXT"] == [["a", "bc"], ["d", "ef"]]


def body(header, data=b""):
    head = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return head + data, len(head)


@pytest.mark.parametrize(
    "raw, length, message",
    [
        (b'{"outputs": []}', 99, "JSON header length 99 exceeds the 15-byte body"),
        (b"{nope}", 6, "response JSON header is not valid JSON"),
        (b"[1, 2]", 6, "response JSON header is not an object"),
        (b'{"outputs": {"a": 1}}', None, "response 'outputs' is not a list"),
        (b'{"outputs": []}\x00\x01\x02', 15, "3 unexpected byte(s) after the last output"),
    ],
)
def test_broken_response_bodies_are_named(raw, length, message):
    with pytest.raises(ProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_infer_response(raw, length)


def test_an_output_named_twice_is_refused():
    entry = {"name": "O", "datatype": "INT8", "shape": [1], "parameters": {"binary_data_size": 1}}
    raw, length = body({"outputs": [entry, entry]}, b"\x01\x02")
    with pytest.raises(ProtocolError, match="output .O. appears twice in the response"):
        parse_infer_response(raw, length)


def test_imjoy_outputs_and_absent_data_are_shaped():
    import msgpack

    one = msgpack.packb({"a": 1}, use_bin_type=True)
    two = msgpack.packb([1, 2], use_bin_type=True)
    raw, length = body(
        {
            "outputs": [
                {"name": "ONE", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 4 + len(one)}},
                {
                    "name": "TWO",
                    "datatype": "BYTES",
                    "shape": [2],
                    "parameters": {"binary_data_size": 8 + len(one) + len(two)},
                },
                {"name": "SHM", "datatype": "INT8", "shape": [1], "parameters": {"shared_memory_region": "r"}},
                {"name": "JSON", "datatype": "INT8", "shape": [2], "data": [1, -1]},
            ]
        },
        struct.pack("<I", len(one)) + one + struct.pack("<I", len(one)) + one + struct.pack("<I", len(two)) + two,
    )
    result = InferResult(parse_infer_response(raw, length))
    out = outputs.shape_outputs(result, serialization="imjoy")
    assert out["ONE"] == {"a": 1} and out["TWO"] == [{"a": 1}, [1, 2]]  # one element: the object itself
    assert out["SHM"] is None and out["JSON"].tolist() == [1, -1]


def test_outputs_without_numpy_when_data_is_absent_or_json(monkeypatch):
    monkeypatch.setattr(outputs, "numpy_or_none", lambda: None)
    raw, length = body(
        {
            "outputs": [
                {"name": "SHM", "datatype": "BYTES", "shape": [1], "parameters": {"shared_memory_region": "r"}},
                {"name": "SHM2", "datatype": "INT8", "shape": [1], "parameters": {"shared_memory_region": "r"}},
                {"name": "JSON", "datatype": "INT16", "shape": [2], "data": [1, -1]},
            ]
        }
    )
    out = outputs.shape_outputs(InferResult(parse_infer_response(raw, length)))
    assert out["SHM"] is None and out["SHM2"] is None
    assert out["JSON"] == {
        "_rtype": "ndarray",
        "_rvalue": struct.pack("<2h", 1, -1),
        "_rshape": [2],
        "_rdtype": "int16",
    }


def test_plain_for_rpc_flattens_object_arrays_only():
    text = np.array([[b"a", "b"], [b"\xff", 3]], dtype=object)
    numbers = np.array([1, 2], np.int8)
    out = outputs.plain_for_rpc({"T": text, "N": numbers, "S": "s", "__info__": {"x": 1}})
    assert (
        out["T"] == ["a", "b", "\ufffd", 3] and out["N"] is numbers and out["S"] == "s" and out["__info__"] == {"x": 1}
    )


def test_rpc_ndarray_buffers_of_every_shape():
    from array import array

    from pyotritonclient.values import ndarray as nd

    floats = memoryview(array("f", [1.0, 2.0]))  # a typed memoryview is read as its bytes
    assert bytes(
        nd.read({"_rtype": "ndarray", "_rvalue": floats, "_rshape": [2], "_rdtype": "float32"}, "x").data
    ) == struct.pack("<2f", 1.0, 2.0)
    strided = memoryview(struct.pack("<4f", 1, 2, 3, 4))[::2]  # not contiguous: copied once
    assert nd.read(
        {"_rtype": "ndarray", "_rvalue": strided, "_rshape": [8], "_rdtype": "uint8"}, "x"
    ).data.tolist() == list(strided)
    with pytest.raises(InvalidInputError) as info:
        nd.read({"_rtype": "ndarray", "_rvalue": [b"12", b"3"], "_rshape": [2], "_rdtype": "int16"}, "x")
    assert info.value.message() == "input 'x': the ndarray holds 3 bytes, its shape and dtype need 4"
    with pytest.raises(InvalidInputError) as info:
        nd.read({"_rtype": "ndarray", "_rvalue": 7, "_rshape": [1], "_rdtype": "int8"}, "x")
    assert info.value.message() == "input 'x': ndarray _rvalue must be bytes, got int"
    with pytest.raises(InvalidInputError) as info:
        nd.read({"_rtype": "ndarray", "_rvalue": [b"1", 2], "_rshape": [2], "_rdtype": "int8"}, "x")
    assert info.value.message() == "input 'x': ndarray _rvalue must be bytes, got list"
    assert nd.encode("INT16", (2,), memoryview(array("h", [1, -1]))) == {
        "_rtype": "ndarray",
        "_rvalue": struct.pack("<2h", 1, -1),
        "_rshape": [2],
        "_rdtype": "int16",
    }
    assert nd.encode("UINT8", [1], b"\x07") == {
        "_rtype": "ndarray",
        "_rvalue": b"\x07",
        "_rshape": [1],
        "_rdtype": "uint8",
    }
    assert (
        not nd.is_ndarray({"_rtype": "memoryview"}) and not nd.is_ndarray([1]) and nd.is_ndarray({"_rtype": "ndarray"})
    )


def test_nested_bytes_outputs_without_numpy(monkeypatch):
    monkeypatch.setattr(outputs, "numpy_or_none", lambda: None)
    words = [bytes([65 + i]) for i in range(8)]
    packed = b"".join(struct.pack("<I", 1) + w for w in words)
    raw, length = body(
        {
            "outputs": [
                {
                    "name": "T3",
                    "datatype": "BYTES",
                    "shape": [2, 2, 2],
                    "parameters": {"binary_data_size": len(packed)},
                },
                {"name": "E", "datatype": "BYTES", "shape": [0, 3], "parameters": {"binary_data_size": 0}},
            ]
        },
        packed,
    )
    out = outputs.shape_outputs(InferResult(parse_infer_response(raw, length)))
    assert out["T3"] == [[[b"A", b"B"], [b"C", b"D"]], [[b"E", b"F"], [b"G", b"H"]]]
    assert out["E"] == []


def test_rpc_ndarray_encoding_in_full():
    from array import array

    from pyotritonclient.values import ndarray as nd

    assert nd.encode("BF16", [2], struct.pack("<2H", 0x3F80, 0xC000)) == {
        "_rtype": "ndarray",
        "_rvalue": struct.pack("<2f", 1.0, -2.0),
        "_rshape": [2],
        "_rdtype": "float32",
    }
    assert nd.encode("INT32", [1], memoryview(array("i", [5]))) == {
        "_rtype": "ndarray",
        "_rvalue": struct.pack("<i", 5),
        "_rshape": [1],
        "_rdtype": "int32",
    }
    two_d = memoryview(struct.pack("<4B", 1, 2, 3, 4)).cast("B", [2, 2])  # a 2-D view is read as its bytes
    assert nd.read(
        {"_rtype": "ndarray", "_rvalue": two_d, "_rshape": [2, 2], "_rdtype": "uint8"}, "x"
    ).data.tolist() == [1, 2, 3, 4]
