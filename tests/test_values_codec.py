"""Exact answers of the "imjoy" codec (values/codec.py). Pure: in the mutation selection. (The RPC ndarrays'
browser paths, ``js_buffer`` and ``with_js_buffers``, run in the real Pyodide: the ImJoy plugin (tests/test_imjoy.py)
and the playground (tests/test_playground.py).)"""

from __future__ import annotations

from collections import OrderedDict

import msgpack
import numpy as np
import pytest

from pyotritonclient.errors import InvalidInputError
from pyotritonclient.values import codec


def test_to_imjoy_writes_each_kind():
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert codec.to_imjoy(None) is None
    assert codec.to_imjoy((1, "a", b"b", 2.5, True)) == [1, "a", b"b", 2.5, True]
    assert codec.to_imjoy({"a": [array]}) == {
        "a": [{"_rtype": "ndarray", "_rvalue": array.tobytes(), "_rshape": [2, 3], "_rdtype": "int16"}]
    }
    assert codec.to_imjoy(np.float32(1.5)) == {
        "_rtype": "ndarray",
        "_rvalue": np.float32(1.5).tobytes(),
        "_rshape": [],
        "_rdtype": "float32",
    }
    assert codec.to_imjoy(ValueError("boom")) == {"_rtype": "error", "_rvalue": "boom"}
    assert codec.to_imjoy(memoryview(b"xy")) == {"_rtype": "memoryview", "_rvalue": b"xy"}
    assert codec.to_imjoy({3}) == {"_rtype": "set", "_rvalue": [3]}
    assert codec.to_imjoy(frozenset({(1, 2)})) == {"_rtype": "set", "_rvalue": [[1, 2]]}
    assert codec.to_imjoy(bytearray(b"z")) == b"z" and type(codec.to_imjoy(bytearray(b"z"))) is bytes
    tagged = codec.to_imjoy({"_rtype": "interface", "_rvalue": (1,), "k": {2}})
    assert tagged == {"_rvalue": [1], "k": {"_rtype": "set", "_rvalue": [2]}, "_rtype": "interface"}
    assert list(tagged)[-1] == "_rtype"


def test_to_imjoy_refuses_what_it_cannot_carry():
    with pytest.raises(InvalidInputError) as refused:
        codec.to_imjoy(np.array([object()], dtype=object))
    assert str(refused.value) == (
        'serialization="imjoy" cannot encode an array of Python objects (dtype object): '
        "use a list, or an array of numbers"
    )
    with pytest.raises(InvalidInputError) as refused:
        codec.to_imjoy(OrderedDict.fromkeys("a").keys())
    assert str(refused.value) == 'serialization="imjoy" cannot encode a builtins.odict_keys'


def test_from_imjoy_reads_each_kind():
    raw = np.arange(4, dtype=np.float32).tobytes()
    shaped = codec.from_imjoy({"_rtype": "ndarray", "_rvalue": raw, "_rshape": [2, 2], "_rdtype": "float32"})
    assert shaped.shape == (2, 2) and shaped.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    unshaped = codec.from_imjoy({"_rtype": "ndarray", "_rvalue": raw, "_rdtype": "float32"})
    assert unshaped.shape == (4,)
    chunked = codec.from_imjoy(
        {"_rtype": "ndarray", "_rvalue": [raw[:8], bytearray(raw[8:])], "_rshape": [4], "_rdtype": "<f4"}
    )
    assert chunked.tolist() == [0.0, 1.0, 2.0, 3.0]
    typed = codec.from_imjoy({"_rtype": "typedarray", "_rvalue": raw, "_rshape": [2, 2], "_rdtype": "float32"})
    assert typed.shape == (4,)  # a typed array is flat whatever shape is said
    assert codec.from_imjoy({"_rtype": "memoryview", "_rvalue": b"ab"}).tobytes() == b"ab"
    assert codec.from_imjoy({"_rtype": "memoryview"}).tobytes() == b""
    assert codec.from_imjoy({"_rtype": "set", "_rvalue": [1, 1, 2]}) == {1, 2}
    assert codec.from_imjoy({"_rtype": "set"}) == set()
    ordered = codec.from_imjoy({"_rtype": "orderedmap", "_rvalue": [["b", 1], ["a", 2]]})
    assert isinstance(ordered, OrderedDict) and list(ordered.items()) == [("b", 1), ("a", 2)]
    assert codec.from_imjoy({"_rtype": "orderedmap"}) == OrderedDict()
    error = codec.from_imjoy({"_rtype": "error", "_rvalue": "bad"})
    assert type(error) is Exception and str(error) == "bad"
    assert str(codec.from_imjoy({"_rtype": "error"})) == ""
    other = codec.from_imjoy({"_rtype": "interface", "x": [{"_rtype": "set", "_rvalue": [1]}]})
    assert other == {"x": [{1}], "_rtype": "interface"}
    assert codec.from_imjoy([{"a": {"_rtype": "set", "_rvalue": [5]}}, 3]) == [{"a": {5}}, 3]


@pytest.mark.parametrize(
    "obj, message",
    [
        ({"_rtype": "ndarray", "_rvalue": [b"a", 3], "_rdtype": "uint8"}, "an ndarray's _rvalue chunks must be bytes"),
        ({"_rtype": "ndarray", "_rvalue": "abc", "_rdtype": "uint8"}, "an ndarray's _rvalue must be bytes, got str"),
        ({"_rtype": "ndarray", "_rdtype": "uint8"}, "an ndarray's _rvalue must be bytes, got NoneType"),
        ({"_rtype": "ndarray", "_rvalue": b"abc", "_rdtype": "int16"}, "bad ndarray in the data ("),
        ({"_rtype": "ndarray", "_rvalue": b"ab", "_rdtype": "no-such"}, "bad ndarray in the data ("),
        ({"_rtype": "ndarray", "_rvalue": b"ab", "_rdtype": "uint8", "_rshape": [3]}, "bad ndarray in the data ("),
    ],
)
def test_bad_ndarrays_are_named(obj, message):
    with pytest.raises(InvalidInputError) as refused:
        codec.from_imjoy(obj)
    assert str(refused.value).startswith('serialization="imjoy": ' + message), str(refused.value)


def test_encode_and_decode_bytes():
    data = codec.encode({"a": np.arange(3, dtype=np.uint8), "s": {1}})
    assert msgpack.unpackb(data, raw=False) == {
        "a": {"_rtype": "ndarray", "_rvalue": b"\x00\x01\x02", "_rshape": [3], "_rdtype": "uint8"},
        "s": {"_rtype": "set", "_rvalue": [1]},
    }
    back = codec.decode(memoryview(data))
    assert back["a"].tolist() == [0, 1, 2] and back["s"] == {1}
    assert codec.decode(msgpack.packb({1: "int key"})) == {1: "int key"}  # (strict_map_key off)
    with pytest.raises(InvalidInputError) as refused:
        codec.encode(2**70)
    assert str(refused.value).startswith('serialization="imjoy" cannot encode this object: ')
    with pytest.raises(InvalidInputError) as refused:
        codec.decode(b"\xc1")
    assert str(refused.value).startswith('serialization="imjoy": the output is not msgpack data (')
    with pytest.raises(InvalidInputError) as refused:
        codec.decode(msgpack.packb({"_rtype": "set", "_rvalue": None}))
    assert str(refused.value).startswith('serialization="imjoy": the data is not imjoy-encoded as expected (')
    with pytest.raises(InvalidInputError) as refused:
        codec.decode(msgpack.packb({"_rtype": "ndarray", "_rvalue": "x", "_rdtype": "uint8"}))
    assert str(refused.value) == 'serialization="imjoy": an ndarray\'s _rvalue must be bytes, got str'
