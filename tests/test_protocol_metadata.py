"""Exact answers of the server-description rules (protocol/metadata.py, values/specs.py): capabilities, configs
made from model metadata, the checks of a config from a server, wire shapes and specs read from the values.
Pure, no server: in the mutation selection (`./dev mutate`)."""

from __future__ import annotations

import numpy as np
import pytest

from pyotritonclient.errors import InferenceServerException, InvalidInputError
from pyotritonclient.protocol.metadata import (
    CONFIG_SOURCE,
    Capabilities,
    check_config,
    config_from_metadata,
    full_shape,
    tensor_summary,
)
from pyotritonclient.values.ndarray import encode
from pyotritonclient.values.specs import specs_from_values


def test_capabilities_from_metadata_and_their_flags():
    caps = Capabilities.from_metadata(
        {"name": "triton", "version": "2.60.0", "extensions": ["binary_tensor_data", "sequence"]}
    )
    assert caps == Capabilities("triton", "2.60.0", frozenset({"binary_tensor_data", "sequence"}))
    assert (caps.binary_tensors, caps.sequences, caps.model_configuration, caps.repository) == (
        True,
        True,
        False,
        False,
    )
    assert caps.describe() == "triton 2.60.0"
    bare = Capabilities.from_metadata({})
    assert bare == Capabilities("", "", frozenset()) and bare.describe() == "the server"
    full = Capabilities.from_metadata({"extensions": ["model_configuration", "model_repository"]})
    assert (full.model_configuration, full.repository, full.binary_tensors) == (True, True, False)
    for bad in ("binary_tensor_data", ["sequence", 3], {"a": 1}):
        with pytest.raises(InferenceServerException) as refused:
            Capabilities.from_metadata({"extensions": bad})
        assert str(refused.value) == f"bad server metadata: 'extensions' is not a list of str: {bad!r}"


def test_a_config_from_model_metadata():
    metadata = {
        "name": "adder",
        "versions": ["1", "2"],
        "platform": "mlserver",
        "inputs": [
            {"name": "a", "datatype": "FP32", "shape": [-1, 3]},
            {"name": "t", "datatype": "BYTES", "shape": []},
        ],
        "outputs": [{"name": "y", "datatype": "INT64", "shape": [1]}],
    }
    assert config_from_metadata(metadata) == {
        "name": "adder",
        "platform": "mlserver",
        "backend": "",
        "max_batch_size": 0,
        "input": [
            {"name": "a", "data_type": "TYPE_FP32", "dims": [-1, 3]},
            {"name": "t", "data_type": "TYPE_STRING", "dims": []},
        ],
        "output": [{"name": "y", "data_type": "TYPE_INT64", "dims": [1]}],
        "versions": ["1", "2"],
        CONFIG_SOURCE: "metadata",
    }
    empty = config_from_metadata({"platform": None})
    assert empty == {
        "name": "?",
        "platform": "",
        "backend": "",
        "max_batch_size": 0,
        "input": [],
        "output": [],
        "versions": [],
        "config_source": "metadata",
    }


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"name": "m", "inputs": {"a": 1}}, "bad metadata of model 'm': inputs is not a list"),
        ({"name": "m", "outputs": "y"}, "bad metadata of model 'm': outputs is not a list"),
        ({"name": "m", "inputs": [{"datatype": "FP32"}]}, "bad metadata of model 'm': an input without a name"),
        ({"name": "m", "outputs": ["y"]}, "bad metadata of model 'm': an output without a name"),
        (
            {"name": "m", "inputs": [{"name": "a", "datatype": "FP32", "shape": [1, True]}]},
            "bad metadata of model 'm': input 'a' shape [1, True]",
        ),
        (
            {"name": "m", "inputs": [{"name": "a", "datatype": "FP32", "shape": "1"}]},
            "bad metadata of model 'm': input 'a' shape '1'",
        ),
        (
            {"name": "m", "outputs": [{"name": "y", "datatype": "FP3", "shape": [1]}]},
            "bad metadata of model 'm': output 'y': unknown Triton datatype 'FP3'; expected one of",
        ),
    ],
)
def test_bad_model_metadata_is_named(metadata, message):
    with pytest.raises(InferenceServerException) as refused:
        config_from_metadata(metadata)
    assert str(refused.value).startswith(message), str(refused.value)


def test_a_servers_config_is_checked_before_use():
    good = {
        "max_batch_size": 4,
        "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [2, "-1"]}],
        "output": [{"name": "y", "data_type": "TYPE_STRING", "dims": []}],
    }
    check_config(good, "m")  # dims may be numbers as strings (protobuf JSON)
    check_config({}, "m")
    prefix = "bad config of model 'm' from the server: "
    cases = [
        ([], "not a JSON object"),
        ({"max_batch_size": True}, "max_batch_size True is not a non-negative int"),
        ({"max_batch_size": -1}, "max_batch_size -1 is not a non-negative int"),
        ({"max_batch_size": 1.5}, "max_batch_size 1.5 is not a non-negative int"),
        ({"input": {}}, "'input' is not a list"),
        ({"output": "y"}, "'output' is not a list"),
        ({"input": [{"data_type": "TYPE_FP32"}]}, "an input has no name"),
        ({"output": [7]}, "an output has no name"),
        ({"input": [{"name": "x", "data_type": "TYPE_X"}]}, "input 'x' has an unknown data_type 'TYPE_X'"),
        ({"output": [{"name": "y"}]}, "output 'y' has an unknown data_type None"),
        ({"input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [1.5]}]}, "input 'x' has dims [1.5]"),
        ({"input": [{"name": "x", "data_type": "TYPE_FP32", "dims": ["a"]}]}, "input 'x' has dims ['a']"),
        ({"output": [{"name": "y", "data_type": "TYPE_FP32", "dims": 3}]}, "output 'y' has dims 3"),
    ]
    for config, what in cases:
        with pytest.raises(InferenceServerException) as refused:
            check_config(config, "m")
        assert str(refused.value) == prefix + what


def test_wire_shapes_and_summaries():
    batching = {"max_batch_size": 8}
    spec = {"name": "x", "data_type": "TYPE_STRING", "dims": ["2", 3]}
    assert full_shape(spec, batching) == [-1, 2, 3]
    assert full_shape(spec, {"max_batch_size": 0}) == [2, 3]
    assert full_shape({"name": "s", "data_type": "TYPE_FP32"}, {}) == []
    assert tensor_summary(spec, batching) == {"name": "x", "datatype": "BYTES", "shape": [-1, 2, 3]}
    optional = {**spec, "optional": 1}
    assert tensor_summary(optional, {}) == {"name": "x", "datatype": "BYTES", "shape": [2, 3], "optional": True}


def test_specs_read_from_the_values_where_the_server_describes_none():
    config = {"name": "m"}
    values = {
        "text": "hello",
        "raw": b"\x00",
        "obj": {"a": 1},
        "words": ["a", "b"],
        "blobs": (b"x",),
        "image": np.zeros((2, 3, 4), np.uint8),
        "scalar": np.float64(1.5),
        "numbers": [1, 2, 3],
        "rpc": encode("INT16", [2, 2], bytes(8)),
        "strings": np.array(["a", "b"]),
    }
    assert specs_from_values(config, values) == [
        {"name": "text", "data_type": "TYPE_STRING", "dims": [-1]},
        {"name": "raw", "data_type": "TYPE_STRING", "dims": [-1]},
        {"name": "obj", "data_type": "TYPE_STRING", "dims": [-1]},
        {"name": "words", "data_type": "TYPE_STRING", "dims": [-1]},
        {"name": "blobs", "data_type": "TYPE_STRING", "dims": [-1]},
        {"name": "image", "data_type": "TYPE_UINT8", "dims": [-1, -1, -1]},
        {"name": "scalar", "data_type": "TYPE_FP64", "dims": [-1]},
        {"name": "numbers", "data_type": "TYPE_INT64", "dims": [-1]},
        {"name": "rpc", "data_type": "TYPE_INT16", "dims": [-1, -1]},
        {"name": "strings", "data_type": "TYPE_STRING", "dims": [-1]},
    ]
    assert specs_from_values(config, {}) == []
    with pytest.raises(InvalidInputError) as refused:
        specs_from_values({"model_name": "n"}, [np.zeros(2)])
    assert (
        str(refused.value) == "the server does not describe the inputs of model 'n': give them as a dict by input name"
    )
    with pytest.raises(InvalidInputError) as refused:
        specs_from_values({}, [1])
    assert "model '?'" in str(refused.value)
    with pytest.raises(InvalidInputError) as refused:
        specs_from_values(config, {"c": np.zeros(2, np.complex64)})
    assert str(refused.value) == "input 'c': no Triton datatype for a complex64 array"


def test_specs_without_numpy_take_rpc_ndarrays_and_text(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_numpy(name, *args, **kwargs):
        if name == "numpy":
            raise ImportError("no numpy here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    assert specs_from_values({}, {"t": "x", "r": encode("FP32", [3], bytes(12))}) == [
        {"name": "t", "data_type": "TYPE_STRING", "dims": [-1]},
        {"name": "r", "data_type": "TYPE_FP32", "dims": [-1]},
    ]
    with pytest.raises(InvalidInputError) as refused:
        specs_from_values({}, {"a": [1.0, 2.0]})
    assert str(refused.value) == "input 'a': without numpy, give arrays as RPC ndarrays"


def test_specs_name_the_model_and_the_input():
    with pytest.raises(InvalidInputError) as refused:
        specs_from_values({"name": "m", "model_name": "other"}, [1])
    assert (
        str(refused.value) == "the server does not describe the inputs of model 'm': give them as a dict by input name"
    )
    with pytest.raises(InvalidInputError) as refused:
        specs_from_values({}, {"x": {"_rtype": "ndarray", "_rvalue": b"", "_rshape": [1], "_rdtype": "float32"}})
    assert "'x'" in str(refused.value)


def test_inputs_of_a_model_described_by_metadata_only():
    from pyotritonclient.values.inputs import prepare_inputs

    config = config_from_metadata({"name": "m"})  # no inputs listed: taken by name from the values
    (tensor,) = prepare_inputs(config, {"a": np.zeros((2, 3), np.float32)})
    assert (tensor.name, tensor.datatype, tensor.shape) == ("a", "FP32", [2, 3])
    with pytest.raises(InvalidInputError) as refused:
        prepare_inputs(config, [np.zeros(2)])
    assert str(refused.value).startswith("the server does not describe the inputs of model 'm'")
    assert prepare_inputs({"name": "none"}, {}) == []  # a config without an "input" list: no inputs


def test_an_rpc_ndarray_as_json_without_numpy(monkeypatch):
    from pyotritonclient.values import inputs

    monkeypatch.setattr(inputs, "numpy_or_none", lambda: None)
    config = {"name": "m", "input": [{"name": "x", "data_type": "TYPE_INT16", "dims": [2]}]}
    (tensor,) = inputs.prepare_inputs(config, [encode("INT16", [2], np.array([3, -4], "<i2").tobytes())], binary=False)
    assert (tensor.name, tensor.datatype, tensor.shape) == ("x", "INT16", [2])
    assert tensor.json == [3, -4] and tensor.binary is None


def test_the_one_batching_flag():
    from pyotritonclient.protocol.metadata import batches

    assert batches({"max_batch_size": 8}) and batches({"max_batch_size": 1})
    for config in (
        {},
        {"max_batch_size": 0},
        {"max_batch_size": -1},
        {"max_batch_size": True},
        {"max_batch_size": "8"},
    ):
        assert not batches(config), config
