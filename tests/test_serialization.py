"""serialization="imjoy": byte-compatible with pyotritonclient 0.2.x, and a round trip through a real model."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

from pyotritonclient import InferenceServerException, execute, serialization


def s(text: str) -> bytes:
    """A msgpack fixstr, written by hand."""
    raw = text.encode()
    assert len(raw) < 32
    return bytes([0xA0 | len(raw)]) + raw


def test_bytes_are_what_0_2_sent():
    # 0.2.x: msgpack.dumps(imjoy_rpc RPC.encode(obj)); an ndarray is {_rtype, _rvalue, _rshape, _rdtype}.
    array = np.zeros([2, 3], np.float32)
    expected = (
        b"\x82"
        + s("args")
        + b"\x7b"
        + s("array")
        + b"\x84"
        + s("_rtype")
        + s("ndarray")
        + s("_rvalue")
        + b"\xc4\x18"
        + bytes(24)
        + s("_rshape")
        + b"\x92\x02\x03"
        + s("_rdtype")
        + s("float32")
    )
    assert serialization.encode({"args": 123, "array": array}) == expected
    decoded = serialization.decode(expected)
    assert decoded["args"] == 123
    assert decoded["array"].dtype == np.float32 and decoded["array"].shape == (2, 3) and not decoded["array"].any()


def test_every_kind_of_value_is_written_as_imjoy_rpc_wrote_it():
    # imjoy-rpc (hypha RPC.encode, 2022): bool/int/float/str/bytes and their subclasses pass as they are, so
    # numpy.float64 (a float) stays a msgpack float64 while numpy.float32 / int64 / bool_ scalars become
    # 0-d ndarrays; tuples are lists; sets, memoryviews and exceptions are _rtype dicts; a dict that already
    # has "_rtype" keeps it, moved last.
    def nd(dtype, shape, raw):
        return (
            b"\x84"
            + s("_rtype")
            + s("ndarray")
            + s("_rvalue")
            + b"\xc4"
            + bytes([len(raw)])
            + raw
            + s("_rshape")
            + bytes([0x90 | len(shape)])
            + bytes(shape)
            + s("_rdtype")
            + s(dtype)
        )

    cases = [
        (None, b"\xc0"),
        ([True, False, -1, 300, 2**40], b"\x95\xc3\xc2\xff\xcd\x01\x2c\xcf" + struct.pack(">Q", 2**40)),
        (1.5, b"\xcb" + struct.pack(">d", 1.5)),
        (np.float64(2.5), b"\xcb" + struct.pack(">d", 2.5)),
        (np.str_("hi"), s("hi")),
        (b"\x00raw", b"\xc4\x04\x00raw"),
        ((1, (2, 3)), b"\x92\x01\x92\x02\x03"),
        (np.float32(2.5), nd("float32", [], struct.pack("<f", 2.5))),
        (np.int64(7), nd("int64", [], struct.pack("<q", 7))),
        (np.bool_(True), nd("bool", [], b"\x01")),
        (np.arange(4, dtype=np.uint8).reshape(2, 2).T, nd("uint8", [2, 2], bytes([0, 2, 1, 3]))),  # C order
        (np.array([1, 2], ">i2"), nd(">i2", [2], b"\x00\x01\x00\x02")),
        ({3, 1}, b"\x82" + s("_rtype") + s("set") + s("_rvalue") + b"\x92\x01\x03"),
        (memoryview(b"ab"), b"\x82" + s("_rtype") + s("memoryview") + s("_rvalue") + b"\xc4\x02ab"),
        (ValueError("boom"), b"\x82" + s("_rtype") + s("error") + s("_rvalue") + s("boom")),
        ({"_rtype": "custom", "a": 1}, b"\x82" + s("a") + b"\x01" + s("_rtype") + s("custom")),
        (OrderedDict([("b", 1), ("a", 2)]), b"\x82" + s("b") + b"\x01" + s("a") + b"\x02"),
    ]
    for value, expected in cases:
        assert serialization.encode(value) == expected, value


def test_what_imjoy_rpc_writes_is_read_back():
    def nd_chunks(chunks):  # an ndarray whose _rvalue came in chunks
        return (
            b"\x84"
            + s("_rtype")
            + s("ndarray")
            + s("_rvalue")
            + bytes([0x90 | len(chunks)])
            + b"".join(b"\xc4" + bytes([len(c)]) + c for c in chunks)
            + s("_rshape")
            + b"\x92\x02\x02"
            + s("_rdtype")
            + s("int16")
        )

    chunked = serialization.decode(nd_chunks([struct.pack("<hh", 1, 2), struct.pack("<hh", 3, 4)]))
    assert chunked.dtype == np.int16 and chunked.tolist() == [[1, 2], [3, 4]]
    typed = serialization.decode(
        b"\x83"
        + s("_rtype")
        + s("typedarray")
        + s("_rvalue")
        + b"\xc4\x08"
        + struct.pack("<ff", 1, 2)
        + s("_rdtype")
        + s("float32")
    )
    assert typed.dtype == np.float32 and typed.tolist() == [1.0, 2.0]
    assert serialization.decode(b"\x82" + s("_rtype") + s("set") + s("_rvalue") + b"\x92\x01\x03") == {1, 3}
    error = serialization.decode(b"\x82" + s("_rtype") + s("error") + s("_rvalue") + s("boom"))
    assert type(error) is Exception and str(error) == "boom"
    assert bytes(serialization.decode(b"\x82" + s("_rtype") + s("memoryview") + s("_rvalue") + b"\xc4\x02ab")) == b"ab"
    ordered = serialization.decode(
        b"\x82" + s("_rtype") + s("orderedmap") + s("_rvalue") + b"\x91\x92" + s("k") + b"\x07"
    )
    assert ordered == OrderedDict([("k", 7)])
    other = serialization.decode(b"\x82" + s("_rtype") + s("custom") + s("a") + b"\x01")
    assert other == {"a": 1, "_rtype": "custom"}
    with pytest.raises(InferenceServerException, match="bad ndarray"):
        serialization.decode(
            b"\x84"
            + s("_rtype")
            + s("ndarray")
            + s("_rvalue")
            + b"\xc4\x03abc"
            + s("_rshape")
            + b"\x91\x02"
            + s("_rdtype")
            + s("float32")
        )


def test_values_it_cannot_carry_are_refused_with_the_reason():
    with pytest.raises(InferenceServerException, match="cannot encode an array of Python objects"):
        serialization.encode({"x": np.array([{}, 1], dtype=object)})
    with pytest.raises(InferenceServerException, match="cannot encode a builtins.function"):
        serialization.encode([lambda: 1])
    with pytest.raises(InferenceServerException, match="cannot encode this object"):
        serialization.encode(2**70)


def test_nested_values_round_trip_locally():
    obj = {"a": [np.arange(6, dtype=np.int16).reshape(2, 3), "text", None, 1.5, True], "b": {"c": b"\x00raw"}}
    back = serialization.decode(serialization.encode(obj))
    np.testing.assert_array_equal(back["a"][0], obj["a"][0])
    assert back["a"][1:] == ["text", None, 1.5, True] and back["b"] == {"c": b"\x00raw"}
    with pytest.raises(InferenceServerException, match="cannot encode a builtins.object"):
        serialization.encode({"f": object()})
    with pytest.raises(InferenceServerException, match="not msgpack data"):
        serialization.decode(b"\xc1")


async def test_round_trip_through_a_model_written_for_it(triton):
    image = np.random.default_rng(0).random([1, 8, 8]).astype(np.float32)
    obj = {"args": 123, "inputs": [image, {"diameter": 30}], "name": "cells", "tags": ["a", "b"]}
    results = await execute([obj], triton.http_url, "imjoy_echo", serialization="imjoy")
    out = results["outputs"]
    assert out["echo"]["args"] == 123 and out["echo"]["name"] == "cells" and out["echo"]["tags"] == ["a", "b"]
    np.testing.assert_array_equal(out["echo"]["inputs"][0], image)
    np.testing.assert_array_equal(out["doubled"]["inputs"][0], image * 2)
    assert out["doubled"]["inputs"][1] == {"diameter": 30}
    assert out["kinds"] == {
        "args": "int",
        "inputs": ["ndarray", {"diameter": "int"}],
        "name": "str",
        "tags": ["str", "str"],
    }
    assert "__info__" in results


async def test_the_model_receives_exactly_the_0_2_bytes(triton):
    # The same object as test_bytes_are_what_0_2_sent, through the real server: the model reports a digest
    # of the bytes it got, which must be those of the encoding built by hand.
    expected = (
        b"\x82"
        + s("args")
        + b"\x7b"
        + s("array")
        + b"\x84"
        + s("_rtype")
        + s("ndarray")
        + s("_rvalue")
        + b"\xc4\x18"
        + bytes(24)
        + s("_rshape")
        + b"\x92\x02\x03"
        + s("_rdtype")
        + s("float32")
    )
    results = await execute(
        {"inputs": {"args": 123, "array": np.zeros([2, 3], np.float32)}},
        triton.url,
        "imjoy_echo",
        serialization="imjoy",
    )
    out = results["outputs"]
    assert out["size"] == len(expected) and out["sha256"] == hashlib.sha256(expected).hexdigest()
    assert out["kinds"] == {"args": "int", "array": "ndarray"} and out["doubled"]["array"].shape == (2, 3)


async def test_imjoy_needs_bytes_inputs_and_no_decode_flags(triton):
    with pytest.raises(InferenceServerException, match='serialization="imjoy" needs BYTES'):
        await execute([{"x": 1}], triton.http_url, "cellpose-python", serialization="imjoy")
    with pytest.raises(InferenceServerException, match="decode_bytes and decode_json do not apply"):
        await execute([{"x": 1}], triton.http_url, "imjoy_echo", serialization="imjoy", decode_json=True)


def test_a_missing_msgpack_is_a_clear_error():
    script = (
        "import sys; sys.modules['msgpack'] = None\n"
        "from pyotritonclient.values import codec as serialization\n"
        "try:\n    serialization.encode({'a': 1})\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert 'InvalidInputError serialization="imjoy" needs msgpack: pip install "pyotritonclient[imjoy]"' in out.stdout
