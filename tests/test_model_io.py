"""model_io without a server: inputs checked against hand-written configs and turned into the bytes Triton
expects (written out here with struct), outputs shaped from hand-built responses. With numpy and without."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from pyotritonclient import model_io
from pyotritonclient.errors import InvalidInputError
from pyotritonclient.http import InferResult
from pyotritonclient.protocol.inference import parse_infer_response
from pyotritonclient.protocol.tensors import ProtocolError

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


def wire(tensor):
    data = tensor.to_wire()
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
    with pytest.raises(InvalidInputError, match=r"got a int16 array \(pass cast=True to convert it safely\)"):
        model_io.prepare_inputs(CONFIG, [np.zeros([1, 2], np.int16)])
    (image,) = model_io.prepare_inputs(CONFIG, [np.array([[1, 2]], np.int16)], cast=True)
    assert wire(image)[3] == struct.pack("<2f", 1.0, 2.0)
    with pytest.raises(InvalidInputError, match="serialization must be None, 'triton' or 'imjoy', got 'x'"):
        model_io.prepare_inputs(CONFIG, [np.zeros([1, 2], np.float32)], serialization="x")
    with pytest.raises(
        InvalidInputError, match=r"serialization=\"imjoy\" needs BYTES \(TYPE_STRING\) inputs, the model has FP32"
    ):
        model_io.prepare_inputs(CONFIG, [np.zeros([1, 2], np.float32)], serialization="imjoy")


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
    out = model_io.shape_outputs(result)
    assert out["OUT"].dtype == np.int16 and out["OUT"].tolist() == [-7, 300]
    assert out["TEXT"].tolist() == raw_text
    assert model_io.shape_outputs(result, decode_bytes=True)["TEXT"] == ['{"a": 1}', "plain", b"\xff\xfe"]
    assert model_io.shape_outputs(result, decode_json=True)["TEXT"] == [{"a": 1}, "plain", b"\xff\xfe"]
    assert model_io.plain_for_rpc({"TEXT": out["TEXT"], "OUT": out["OUT"]})["TEXT"] == [
        '{"a": 1}',
        "plain",
        "\ufffd\ufffd",
    ]


def test_outputs_without_numpy_are_rpc_ndarrays_and_nested_lists(monkeypatch):
    monkeypatch.setattr(model_io, "numpy_or_none", lambda: None)
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
    out = model_io.shape_outputs(result)
    assert out["OUT"] == {
        "_rtype": "ndarray",
        "_rvalue": struct.pack("<2h", -7, 300),
        "_rshape": [2],
        "_rdtype": "int16",
    }
    assert out["TEXT"] == [[b"a", b"bc"], [b"d", b"ef"]]
    assert out["B"]["_rdtype"] == "float32" and struct.unpack("<2f", out["B"]["_rvalue"]) == (1.0, -2.0)
    assert model_io.shape_outputs(result, decode_bytes=True)["TEXT"] == [["a", "bc"], ["d", "ef"]]


def test_tensor_summaries():
    assert model_io.tensor_summary(CONFIG["input"][1], CONFIG) == {
        "name": "PARAM",
        "datatype": "BYTES",
        "shape": [1],
        "optional": True,
    }
    assert model_io.tensor_summary(BATCHED["input"][0], BATCHED) == {"name": "X", "datatype": "UINT8", "shape": [-1, 3]}


KINDS = {
    "name": "k",
    "max_batch_size": 0,
    "input": [
        {"name": n, "data_type": f"TYPE_{t}", "dims": [-1], "optional": True}
        for n, t in [("T", "STRING"), ("B", "BOOL"), ("I8", "INT8"), ("U16", "UINT16"), ("F", "FP32"), ("H", "BF16")]
    ],
}


def sent(inputs, **options):
    return {t.name(): wire(t)[1:] for t in model_io.prepare_inputs(KINDS, inputs, **options)}


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
    hint = " (pass cast=True to convert it safely)"
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
    out = model_io.shape_outputs(result, serialization="imjoy")
    assert out["ONE"] == {"a": 1} and out["TWO"] == [{"a": 1}, [1, 2]]  # one element: the object itself
    assert out["SHM"] is None and out["JSON"].tolist() == [1, -1]


def test_outputs_without_numpy_when_data_is_absent_or_json(monkeypatch):
    monkeypatch.setattr(model_io, "numpy_or_none", lambda: None)
    raw, length = body(
        {
            "outputs": [
                {"name": "SHM", "datatype": "BYTES", "shape": [1], "parameters": {"shared_memory_region": "r"}},
                {"name": "SHM2", "datatype": "INT8", "shape": [1], "parameters": {"shared_memory_region": "r"}},
                {"name": "JSON", "datatype": "INT16", "shape": [2], "data": [1, -1]},
            ]
        }
    )
    out = model_io.shape_outputs(InferResult(parse_infer_response(raw, length)))
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
    out = model_io.plain_for_rpc({"T": text, "N": numbers, "S": "s", "__info__": {"x": 1}})
    assert (
        out["T"] == ["a", "b", "\ufffd", 3] and out["N"] is numbers and out["S"] == "s" and out["__info__"] == {"x": 1}
    )


def test_rpc_ndarray_buffers_of_every_shape():
    from array import array

    from pyotritonclient import ndarray as nd

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


def test_nested_bytes_outputs_without_numpy(monkeypatch):
    monkeypatch.setattr(model_io, "numpy_or_none", lambda: None)
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
    out = model_io.shape_outputs(InferResult(parse_infer_response(raw, length)))
    assert out["T3"] == [[[b"A", b"B"], [b"C", b"D"]], [[b"E", b"F"], [b"G", b"H"]]]
    assert out["E"] == []


def test_rpc_ndarray_encoding_in_full():
    from array import array

    from pyotritonclient import ndarray as nd

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
