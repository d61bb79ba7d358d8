"""model_io without a server: inputs checked against hand-written configs and turned into the bytes Triton
expects (written out here with struct), outputs shaped from hand-built responses. With numpy and without."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from pyotritonclient.errors import InvalidInputError
from pyotritonclient.protocol.metadata import tensor_summary
from pyotritonclient.values import inputs as model_io

CONFIG = {
    "name": "m",
    "max_batch_size": 0,
    "input": [
        {"name": "IMAGE", "data_type": "TYPE_FP32", "dims": [-1, 2]},
        {"name": "PARAM", "data_type": "TYPE_STRING", "dims": [1], "optional": True},
    ],
    "output": [{"name": "OUT", "data_type": "TYPE_INT16", "dims": [2]}],
}


BATCHED = {"name": "b", "max_batch_size": 4, "input": [{"name": "X", "data_type": "TYPE_UINT8", "dims": [3]}]}


def wire(data):
    return data.name, data.datatype, data.shape, bytes(data.binary) if data.binary is not None else data.json


def ndarray(fmt, values, shape, dtype):
    return {
        "_rtype": "ndarray",
        "_rvalue": struct.pack("<" + fmt * len(values), *values),
        "_rshape": shape,
        "_rdtype": dtype,
    }


@pytest.fixture(params=["numpy", "no-numpy"])
def numpy_mode(request, monkeypatch):
    if request.param == "no-numpy":
        monkeypatch.setattr(model_io, "numpy_or_none", lambda: None)
    return request.param


def test_inputs_by_position_and_by_name_become_the_expected_bytes(numpy_mode):
    image = ndarray("f", [1.0, 2.0, 3.5, -4.0], [2, 2], "float32")
    for inputs in ([image, {"k": 1}], {"PARAM": {"k": 1}, "IMAGE": image}):
        image_in, param_in = model_io.prepare_inputs(CONFIG, inputs)
        assert wire(image_in) == ("IMAGE", "FP32", [2, 2], struct.pack("<4f", 1.0, 2.0, 3.5, -4.0))
        text = json.dumps({"k": 1}).encode()
        assert wire(param_in) == ("PARAM", "BYTES", [1], struct.pack("<I", len(text)) + text)


def test_optional_inputs_may_be_left_out_and_required_ones_may_not(numpy_mode):
    (only,) = model_io.prepare_inputs(CONFIG, [[[1.0, 2.0]]])
    assert wire(only) == ("IMAGE", "FP32", [1, 2], struct.pack("<2f", 1.0, 2.0))
    with pytest.raises(InvalidInputError, match=r"model 'm': input 'IMAGE' is missing \(required\)"):
        model_io.prepare_inputs(CONFIG, {"PARAM": "x"})


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({"IMAGE": [[1.0, 2.0]], "MASK": [1]}, r"model 'm' has no input 'MASK'; its inputs are \['IMAGE', 'PARAM'\]"),
        ([[[1.0, 2.0]], "x", "y"], r"model 'm' takes 2 inputs \['IMAGE', 'PARAM'\], got 3"),
        ("IMAGE", r"inputs must be a list \(in the order \['IMAGE', 'PARAM'\]\) or a dict by input name, got str"),
        ([[1.0, 2.0, 3.0]], r"input 'IMAGE': expected shape \[-1, 2\] \(-1: any size\), got \[3\]"),
        ([[[1.0, 2.0, 3.0]]], r"input 'IMAGE': expected shape \[-1, 2\] \(-1: any size\), got \[1, 3\]"),
        (["text"], r"input 'IMAGE': expected FP32 numbers, got str"),
        ([[[1.0, 2.0]], 5], r"input 'PARAM': expected BYTES"),
        ([[[1, 2], [3]]], r"input 'IMAGE'"),
    ],
)
def test_bad_inputs_are_named(numpy_mode, inputs, message):
    with pytest.raises(InvalidInputError, match=message):
        model_io.prepare_inputs(CONFIG, inputs)


def test_ndarray_inputs_are_checked_before_any_copy(numpy_mode):
    with pytest.raises(InvalidInputError, match=r"the ndarray holds 4 bytes, but float32 with shape \[1, 2\] needs 8"):
        model_io.prepare_inputs(
            CONFIG, [{"_rtype": "ndarray", "_rvalue": b"1234", "_rshape": [1, 2], "_rdtype": "float32"}]
        )
    with pytest.raises(InvalidInputError, match="ndarray dtype 'complex64' is not one Triton takes"):
        model_io.prepare_inputs(
            CONFIG, [{"_rtype": "ndarray", "_rvalue": b"", "_rshape": [0, 2], "_rdtype": "complex64"}]
        )
    with pytest.raises(InvalidInputError, match=r"_rshape must be a list of non-negative ints, got \[-1, 2\]"):
        model_io.prepare_inputs(
            CONFIG, [{"_rtype": "ndarray", "_rvalue": b"", "_rshape": [-1, 2], "_rdtype": "float32"}]
        )
    chunks = {
        "_rtype": "ndarray",
        "_rvalue": [b"\x00\x00\x80?", b"\x00\x00\x00@"],
        "_rshape": [1, 2],
        "_rdtype": "float32",
    }
    (image,) = model_io.prepare_inputs(CONFIG, [chunks])  # imjoy-rpc's chunked long arrays
    assert wire(image)[3] == struct.pack("<2f", 1.0, 2.0)


def test_a_batching_model_gets_the_batch_dimension_added(numpy_mode):
    (x,) = model_io.prepare_inputs(BATCHED, [[1, 2, 255]])
    assert wire(x) == ("X", "UINT8", [1, 3], bytes([1, 2, 255]))
    (x,) = model_io.prepare_inputs(BATCHED, [[[1, 2, 3], [4, 5, 6]]])
    assert wire(x) == ("X", "UINT8", [2, 3], bytes([1, 2, 3, 4, 5, 6]))
    with pytest.raises(InvalidInputError, match="input 'X'"):
        model_io.prepare_inputs(BATCHED, [[1, 2, 256]])  # does not fit UINT8


def test_numpy_arrays_need_the_models_dtype_unless_cast():
    with pytest.raises(InvalidInputError, match=r"expected dtype FP32 \(float32\), got a float64 array$"):
        model_io.prepare_inputs(CONFIG, [np.zeros([1, 2])])
    with pytest.raises(InvalidInputError, match=r"got a int16 array \(cast=True or --cast converts it safely\)"):
        model_io.prepare_inputs(CONFIG, [np.zeros([1, 2], np.int16)])
    (image,) = model_io.prepare_inputs(CONFIG, [np.array([[1, 2]], np.int16)], cast=True)
    assert wire(image)[3] == struct.pack("<2f", 1.0, 2.0)
    with pytest.raises(InvalidInputError, match="serialization must be None, 'triton' or 'imjoy', got 'x'"):
        model_io.prepare_inputs(CONFIG, [np.zeros([1, 2], np.float32)], serialization="x")
    with pytest.raises(
        InvalidInputError, match=r"serialization=\"imjoy\" needs BYTES \(TYPE_STRING\) inputs, the model has FP32"
    ):
        model_io.prepare_inputs(CONFIG, [np.zeros([1, 2], np.float32)], serialization="imjoy")


def test_tensor_summaries():
    assert tensor_summary(CONFIG["input"][1], CONFIG) == {
        "name": "PARAM",
        "datatype": "BYTES",
        "shape": [1],
        "optional": True,
    }
    assert tensor_summary(BATCHED["input"][0], BATCHED) == {"name": "X", "datatype": "UINT8", "shape": [-1, 3]}


KINDS = {
    "name": "k",
    "max_batch_size": 0,
    "input": [
        {"name": n, "data_type": f"TYPE_{t}", "dims": [-1], "optional": True}
        for n, t in [("T", "STRING"), ("B", "BOOL"), ("I8", "INT8"), ("U16", "UINT16"), ("F", "FP32"), ("H", "BF16")]
    ],
}


def sent(inputs, **options):
    return {t.name: wire(t)[1:] for t in model_io.prepare_inputs(KINDS, inputs, **options)}


def framed(*items):
    return b"".join(struct.pack("<I", len(i)) + i for i in items)


def test_each_kind_of_value_becomes_the_bytes_triton_expects(numpy_mode):
    assert sent({"T": ["a", b"\x00", {"k": [1]}]}) == {"T": ("BYTES", [3], framed(b"a", b"\x00", b'{"k": [1]}'))}
    assert sent({"T": "one"}) == {"T": ("BYTES", [1], framed(b"one"))}
    assert sent({"B": [True, False]}) == {"B": ("BOOL", [2], b"\x01\x00")}
    assert sent({"I8": [-128, 127]}) == {"I8": ("INT8", [2], struct.pack("<2b", -128, 127))}
    assert sent({"U16": [65535]}) == {"U16": ("UINT16", [1], struct.pack("<H", 65535))}
    assert sent({"F": [1, 2.5]}) == {"F": ("FP32", [2], struct.pack("<2f", 1.0, 2.5))}
    assert sent({"H": [1.0, -2.0]}) == {"H": ("BF16", [2], struct.pack("<2H", 0x3F80, 0xC000))}


@pytest.mark.parametrize(
    "inputs, with_numpy, without_numpy",
    [
        (
            {"T": ["a", 5]},
            "input 'T': expected BYTES (str, bytes, dict or a list of them), got a list holding int",
            "input 'T': expected BYTES (str, bytes, dict or a list of them), got list",
        ),
        (
            {"T": 5},
            "input 'T': expected BYTES (str, bytes, dict or an object/bytes array), got int",
            "input 'T': expected BYTES (str, bytes, dict or a list of them), got int",
        ),
        (
            {"I8": [1.5]},
            "input 'I8': the values do not fit INT8 (int8)",
            "input 'I8': expected INT8 values, got a float (1.5)",
        ),
        ({"I8": [True]}, None, "input 'I8': expected INT8 values, got a bool (True)"),
        ({"B": [1]}, None, "input 'B': expected BOOL values, got a int (1)"),
        (
            {"F": ["x"]},
            "input 'F': expected FP32 numbers, got list",
            "input 'F': expected FP32 values, got a str ('x')",
        ),
        ({"F": [True]}, None, "input 'F': expected FP32 values, got a bool (True)"),
        ({"F": "x"}, "input 'F': expected FP32 numbers, got str", "input 'F': expected FP32 numbers, got str"),
    ],
)
def test_values_of_the_wrong_kind_are_named(numpy_mode, inputs, with_numpy, without_numpy):
    expected = with_numpy if numpy_mode == "numpy" else without_numpy
    if expected is None:
        return  # numpy takes this value (a bool is a number there); the numpy-free path is stricter
    with pytest.raises(InvalidInputError) as info:
        model_io.prepare_inputs(KINDS, inputs)
    assert info.value.message() == expected


def test_numpy_text_arrays_and_a_wrong_ndarray_dtype():
    (text,) = model_io.prepare_inputs(KINDS, {"T": np.array([b"ab", b"c"], dtype=object)})
    assert wire(text)[3] == framed(b"ab", b"c")
    with pytest.raises(InvalidInputError) as info:
        model_io.prepare_inputs(KINDS, {"F": ndarray("h", [1], [1], "int16")})
    hint = " (cast=True or --cast converts it safely)"
    assert info.value.message() == "input 'F': expected dtype FP32 (float32), got a int16 array" + hint
    with pytest.raises(InvalidInputError) as info:
        model_io.prepare_inputs(KINDS, {"F": ndarray("i", [1], [1], "int32")})  # not a safe cast: no hint
    assert info.value.message() == "input 'F': expected dtype FP32 (float32), got a int32 array"


def test_a_wrong_ndarray_dtype_without_numpy(monkeypatch):
    monkeypatch.setattr(model_io, "numpy_or_none", lambda: None)
    with pytest.raises(InvalidInputError) as info:
        model_io.prepare_inputs(KINDS, {"F": ndarray("i", [1], [1], "int32")})
    assert info.value.message() == "input 'F': expected dtype FP32, got a int32 ndarray"


def test_imjoy_serialization_sends_one_msgpack_element():
    import msgpack  # a dev requirement: its absence fails the test

    (obj,) = model_io.prepare_inputs(KINDS, {"T": {"a": [1, "x"]}}, serialization="imjoy")
    assert wire(obj) == ("T", "BYTES", [1], framed(msgpack.packb({"a": [1, "x"]}, use_bin_type=True)))
    (plain,) = model_io.prepare_inputs(KINDS, {"T": "s"}, serialization="triton")
    assert wire(plain)[3] == framed(b"s")


def test_a_config_without_a_name_says_model_question_mark_or_its_model_name():
    with pytest.raises(InvalidInputError, match="model 'n2' has no input 'Z'"):
        model_io.prepare_inputs({"model_name": "n2", "input": []}, {"Z": 1})
    with pytest.raises(InvalidInputError, match=r"model '\?' has no input 'Z'"):
        model_io.prepare_inputs({"input": []}, {"Z": 1})
    with pytest.raises(InvalidInputError, match="model 'k': input 'R' is missing"):
        model_io.prepare_inputs({"name": "k", "input": [{"name": "R", "data_type": "TYPE_INT8", "dims": [1]}]}, [])


def test_errors_name_the_input_on_every_path(numpy_mode):
    bad = {"_rtype": "ndarray", "_rvalue": b"1234", "_rshape": [1, 2], "_rdtype": "float32"}
    with pytest.raises(InvalidInputError, match="^input 'IMAGE': the ndarray holds 4 bytes"):
        model_io.prepare_inputs(CONFIG, [bad])
    with pytest.raises(InvalidInputError, match=r"^input 'IMAGE': expected shape \[-1, 2\]"):
        model_io.prepare_inputs(CONFIG, [ndarray("f", [1.0, 2.0, 3.0], [3], "float32")])
    with pytest.raises(InvalidInputError, match=r"^input 'PARAM': expected shape \[1\]"):
        model_io.prepare_inputs({**CONFIG, "input": [CONFIG["input"][1]]}, [["a", "b"]])
    with pytest.raises(InvalidInputError, match="^input 'U16': (expected UINT16 values|the values do not fit UINT16)"):
        model_io.prepare_inputs(KINDS, {"U16": [1.5]})


def test_an_empty_dimension_is_allowed(numpy_mode):
    empty = {"_rtype": "ndarray", "_rvalue": b"", "_rshape": [0, 2], "_rdtype": "float32"}
    (image,) = model_io.prepare_inputs(CONFIG, [empty])
    assert wire(image) == ("IMAGE", "FP32", [0, 2], b"")


def test_a_float_array_where_text_is_expected():
    with pytest.raises(InvalidInputError) as info:
        model_io.prepare_inputs(KINDS, {"T": np.zeros(2)})
    assert (
        info.value.message()
        == "input 'T': expected BYTES (str, bytes, dict or an object/bytes array), got a float64 array"
    )
