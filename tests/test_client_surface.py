"""Parts of the tritonclient surface that other tests do not reach, against the real Triton."""

from __future__ import annotations

import numpy as np
import pytest

from pyotritonclient import execute, get_config
from pyotritonclient.errors import InvalidInputError
from pyotritonclient.http import InferInput, InferRequestedOutput


async def test_set_shape_then_new_data(client):
    tensor = InferInput("IN_INT32", [2], "INT32").set_data_from_numpy(np.array([1, 2], np.int32))
    tensor.set_shape([3])
    assert tensor.shape() == [3]
    with pytest.raises(InvalidInputError, match=r"got shape \[2\], expected \[3\]"):
        tensor.set_data_from_numpy(np.array([1, 2], np.int32))
    tensor.set_data_from_numpy(np.array([4, 5, 6], np.int32))
    result = await client.infer("echo_all", [tensor], outputs=[InferRequestedOutput("OUT_INT32")])
    assert result.as_numpy("OUT_INT32").tolist() == [4, 5, 6]


async def test_output_names_and_unset_shared_memory(client):
    a = InferInput("INPUT0", [16], "INT32").set_data_from_numpy(np.arange(16, dtype=np.int32))
    b = InferInput("INPUT1", [16], "INT32").set_data_from_numpy(np.ones(16, np.int32))
    requested = InferRequestedOutput("OUTPUT1").set_shared_memory("no_such_region", 64)
    requested.unset_shared_memory()  # back to the response body: the region is never used
    result = await client.infer("add_sub", [a, b], outputs=[requested])
    assert result.output_names() == ["OUTPUT1"]
    assert result.as_numpy("OUTPUT1").tolist() == list(range(-1, 15))


async def test_execute_with_a_given_config_uses_its_server_and_model(triton):
    config = await get_config(triton.url, "add_sub")
    a, b = np.arange(16, dtype=np.int32), np.full(16, 5, np.int32)
    out = await execute([a, b], config=config)  # server_url and model_name come from the config
    assert out["OUTPUT0"].tolist() == (a + b).tolist()
