"""serialization="imjoy": byte-compatible with pyotritonclient 0.2.x, and a round trip through a real model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pyotritonclient import InferenceServerException, execute
from pyotritonclient import serialization


def s(text: str) -> bytes:
    """A msgpack fixstr, written by hand."""
    raw = text.encode()
    assert len(raw) < 32
    return bytes([0xA0 | len(raw)]) + raw


def test_bytes_are_what_0_2_sent():
    # 0.2.x: msgpack.dumps(imjoy_rpc RPC.encode(obj)); an ndarray is {_rtype, _rvalue, _rshape, _rdtype}.
    array = np.zeros([2, 3], np.float32)
    expected = (
        b"\x82" + s("args") + b"\x7b"
        + s("array") + b"\x84"
        + s("_rtype") + s("ndarray")
        + s("_rvalue") + b"\xc4\x18" + bytes(24)
        + s("_rshape") + b"\x92\x02\x03"
        + s("_rdtype") + s("float32")
    )
    assert serialization.encode({"args": 123, "array": array}) == expected
    decoded = serialization.decode(expected)
    assert decoded["args"] == 123
    assert decoded["array"].dtype == np.float32 and decoded["array"].shape == (2, 3) and not decoded["array"].any()


def test_nested_values_round_trip_locally():
    obj = {"a": [np.arange(6, dtype=np.int16).reshape(2, 3), "text", None, 1.5, True], "b": {"c": b"\x00raw"}}
    back = serialization.decode(serialization.encode(obj))
    np.testing.assert_array_equal(back["a"][0], obj["a"][0])
    assert back["a"][1:] == ["text", None, 1.5, True] and back["b"] == {"c": b"\x00raw"}
    with pytest.raises(InferenceServerException, match="cannot encode"):
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
    assert out["kinds"] == {"args": "int", "inputs": ["ndarray", {"diameter": "int"}], "name": "str", "tags": ["str", "str"]}
    assert "__info__" in results


async def test_imjoy_needs_bytes_inputs_and_no_decode_flags(triton):
    with pytest.raises(InferenceServerException, match='serialization="imjoy" needs BYTES'):
        await execute([{"x": 1}], triton.http_url, "cellpose-python", serialization="imjoy")
    with pytest.raises(InferenceServerException, match="decode_bytes and decode_json do not apply"):
        await execute([{"x": 1}], triton.http_url, "imjoy_echo", serialization="imjoy", decode_json=True)


def test_a_missing_msgpack_is_a_clear_error():
    script = (
        "import sys; sys.modules['msgpack'] = None\n"
        "from pyotritonclient import serialization\n"
        "try:\n    serialization.encode({'a': 1})\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert 'InferenceServerException serialization="imjoy" needs msgpack: pip install "pyotritonclient[imjoy]"' in out.stdout
