"""The compiled plan of a model config: the fast path must send exactly what the general path sends, and
leave everything it does not take (conversions, errors) to the general path."""

from __future__ import annotations

import numpy as np
import pytest

from pyotritonclient.errors import InvalidInputError
from pyotritonclient.values.compiled import CompiledInputs
from pyotritonclient.values.inputs import prepare_inputs

CONFIG = {
    "name": "m",
    "max_batch_size": 8,
    "input": [
        {"name": "A", "data_type": "TYPE_FP32", "dims": [2, 3]},
        {"name": "B", "data_type": "TYPE_INT32", "dims": [-1]},
        {"name": "C", "data_type": "TYPE_STRING", "dims": [1], "optional": True},
    ],
    "output": [{"name": "OUT", "data_type": "TYPE_FP32", "dims": [2, 3]}],
}


def wire(tensors):
    return [(t.name, t.shape, t.datatype, bytes(t.binary or b"")) for t in tensors]


@pytest.fixture
def plan():
    return CompiledInputs(CONFIG, np)


def test_arrays_of_the_models_dtype_take_the_fast_path_and_match_the_general_one(plan):
    a = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    b = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.int32)
    for given in ([a, b], {"B": b, "A": a}, (a, b)):
        fast = plan.fast_inputs(given)
        assert fast is not None
        by_name = sorted(wire(fast))
        assert by_name == sorted(wire(prepare_inputs(CONFIG, given)))
    single = plan.fast_inputs([a[0], b[0]])  # one item of a batching model: the batch dimension is added
    assert single is not None and [t.shape for t in single] == [[1, 2, 3], [1, 4]]
    assert wire(single) == wire(prepare_inputs(CONFIG, [a[0], b[0]]))
    assert plan.output_names == ["OUT"]


def test_the_fast_path_sends_views_not_copies(plan):
    a = np.zeros((1, 2, 3), dtype=np.float32)
    (tensor_a, _) = plan.fast_inputs([a, np.zeros((1, 2), dtype=np.int32)])
    a[0, 0, 0] = 7.0  # the tensor is a view: the documented "do not modify before sending"
    assert np.frombuffer(tensor_a.binary, dtype=np.float32)[0] == 7.0


@pytest.mark.parametrize(
    "inputs",
    [
        [np.zeros((1, 2, 3), dtype=np.float64), np.zeros((1, 2), dtype=np.int32)],  # needs a cast
        [np.zeros((1, 2, 3), dtype=">f4"), np.zeros((1, 2), dtype=np.int32)],  # big-endian
        [np.zeros((1, 3, 2), dtype=np.float32), np.zeros((1, 2), dtype=np.int32)],  # wrong shape
        [np.zeros((1, 2, 3), dtype=np.float32)],  # a required input missing
        {"A": np.zeros((1, 2, 3), dtype=np.float32), "Z": 1},  # an unknown name
        [np.zeros((1, 2, 3), dtype=np.float32), [1, 2]],  # a list, converted by the general path
        [np.zeros((1, 2, 3), dtype=np.float32), np.zeros((1, 2), dtype=np.int32), "text"],  # BYTES
        "not inputs",
    ],
)
def test_anything_else_is_left_to_the_general_path(plan, inputs):
    assert plan.fast_inputs(inputs) is None


def test_a_non_contiguous_array_is_sent_in_order():
    plan = CompiledInputs(CONFIG, np)
    a = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)[..., 0].transpose(0, 2, 1)  # (1, 2, 3), strided
    assert not a.flags.c_contiguous
    fast = plan.fast_inputs([a, np.zeros((1, 1), dtype=np.int32)])
    assert fast is not None
    assert np.array_equal(np.frombuffer(fast[0].binary, dtype=np.float32), a.reshape(-1))


def test_errors_still_name_the_input_when_the_plan_declines():
    plan = CompiledInputs(CONFIG, np)
    with pytest.raises(InvalidInputError, match=r"input 'A': expected shape \[-1, 2, 3\]"):
        prepare_inputs(CONFIG, [np.zeros((1, 3, 2), np.float32), np.zeros((1, 2), np.int32)], plan=plan)
    with pytest.raises(InvalidInputError, match="input 'B' is missing"):
        prepare_inputs(CONFIG, [np.zeros((1, 2, 3), np.float32)], plan=plan)


def test_without_numpy_there_is_no_fast_path():
    assert CompiledInputs(CONFIG, None).fast_inputs([np.zeros((1, 2, 3), np.float32)]) is None


async def test_the_session_compiles_a_cached_config_once_and_again_when_it_changes():
    import json

    from pyotritonclient.engine.options import ExecuteOptions
    from pyotritonclient.engine.session import Session
    from pyotritonclient.http import InferenceServerClient
    from pyotritonclient.transport.memory import MemoryResponse, MemoryTransport

    url = "http://memory.test:8000"
    dims = {"now": [4]}

    def handler(request):
        if request.url.endswith("/config"):
            spec = {"data_type": "TYPE_INT32", "dims": dims["now"]}
            return MemoryResponse.json(
                {"name": "m", "max_batch_size": 0, "input": [{"name": "X", **spec}], "output": [{"name": "Y", **spec}]}
            )
        if request.url.endswith("/infer"):
            sent = request.json()["inputs"][0]
            raw = request.body[int(request.headers["Inference-Header-Content-Length"]) :]
            out = {
                "name": "Y",
                "datatype": "INT32",
                "shape": sent["shape"],
                "parameters": {"binary_data_size": len(raw)},
            }
            head = json.dumps({"model_name": "m", "outputs": [out]}).encode()
            return MemoryResponse(200, {"Inference-Header-Content-Length": str(len(head))}, head + raw)
        return MemoryResponse.json(
            {"name": "t", "version": "2", "extensions": ["binary_tensor_data", "model_configuration"]}
        )

    session = Session(url)
    async with InferenceServerClient(url, transport=MemoryTransport(handler)) as client:
        first = await session.execute("m", [np.arange(4, dtype=np.int32)], ExecuteOptions(), client=client)
        plan = session.configs.compiled(("m", ""), session.cached_config("m"))
        await session.execute("m", [np.arange(4, dtype=np.int32)], ExecuteOptions(), client=client)
        assert session.configs.compiled(("m", ""), session.cached_config("m")) is plan  # compiled once
        assert (
            session.configs.compiled(("m", ""), dict(session.cached_config("m"))) is None
        )  # a caller's config: no plan
        dims["now"] = [2, 3]
        session.forget("m")
        second = await session.execute("m", [np.zeros((2, 3), dtype=np.int32)], ExecuteOptions(), client=client)
        assert session.configs.compiled(("m", ""), session.cached_config("m")) is not plan
    assert first["Y"].tolist() == [0, 1, 2, 3] and second["Y"].shape == (2, 3)


def test_what_a_config_compiles_to_exactly():
    empty = CompiledInputs({}, np)
    assert (empty.batching, empty.inputs, empty.output_names, empty.by_name) == (False, [], [], {})
    assert empty.fast_inputs({}) == [] and empty.fast_inputs([]) == []
    spec = {"name": "t", "data_type": "TYPE_STRING"}
    words = CompiledInputs({"max_batch_size": 2, "input": [spec]}, np)
    (compiled,) = words.inputs
    assert compiled.spec is spec and (compiled.name, compiled.datatype, compiled.dtype) == ("t", "BYTES", None)
    assert (compiled.shape, compiled.optional, words.batching) == ((-1,), False, True)
    assert words.fast_inputs([np.array([b"a"], dtype=object)]) is None  # text takes the general path
    flat = CompiledInputs({"input": [{"name": "x", "data_type": "TYPE_FP32"}]}, np)
    assert (flat.inputs[0].shape, flat.inputs[0].dtype) == ((), np.dtype("<f4"))
    two = CompiledInputs(
        {"input": [{"name": "a", "data_type": "TYPE_INT32", "dims": [2]}, {"name": "b", "data_type": "TYPE_INT32"}]},
        np,
    )
    every = two.fast_inputs({"a": np.zeros(2, np.int32), "b": np.array(1, np.int32)})  # all of them, by name
    assert every is not None and [t.name for t in every] == ["a", "b"]
    assert two.fast_inputs((np.zeros(2, np.int32), np.array(1, np.int32))) is not None  # all, in order
