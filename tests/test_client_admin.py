"""The low-level client's non-inference endpoints against the real Triton: health, metadata, config,
repository, statistics, trace and log settings, shared memory."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from multiprocessing import shared_memory

import numpy as np
import pytest
from triton_inputs import add_sub_inputs

from pyotritonclient.http import InferenceServerException, InferInput, InferRequestedOutput

# -- health, metadata, config ---------------------------------------------------------------


async def test_health(client):
    assert await client.is_server_live() is True
    assert await client.is_server_ready() is True
    assert await client.is_model_ready("add_sub") is True
    assert await client.is_model_ready("add_sub", "1") is True
    assert await client.is_model_ready("no_such_model") is False


async def test_server_metadata(client):
    meta = await client.get_server_metadata()
    assert meta["name"] == "triton"
    assert meta["version"].startswith("2.")
    assert {"binary_tensor_data", "classification", "sequence", "statistics"} <= set(meta["extensions"])


async def test_model_metadata_and_config(client):
    meta = await client.get_model_metadata("add_sub")
    assert meta["name"] == "add_sub" and meta["versions"] == ["1"]
    assert [(i["name"], i["datatype"], i["shape"]) for i in meta["inputs"]] == [
        ("INPUT0", "INT32", [16]),
        ("INPUT1", "INT32", [16]),
    ]
    config = await client.get_model_config("add_sub", "1")
    assert config["name"] == "add_sub" and config["backend"] == "python"
    assert [o["name"] for o in config["output"]] == ["OUTPUT0", "OUTPUT1"]


async def test_unknown_model_is_a_server_error_with_its_message(client):
    with pytest.raises(InferenceServerException) as info:
        await client.get_model_metadata("no_such_model")
    assert info.value.status() == "404"
    assert "no_such_model" in info.value.message()
    assert info.value.url.endswith("/v2/models/no_such_model")


# -- model repository -----------------------------------------------------------------------


async def test_repository_index_and_ready_filter(client, models_dir):
    index = await client.get_model_repository_index()
    names = {m["name"] for m in index}
    expected = {p.name for p in models_dir.iterdir() if (p / "config.pbtxt").exists()}
    assert names == expected
    assert all(m["state"] == "READY" for m in index)
    await client.unload_model("identity_fp32")
    try:
        # Unloading finishes in the background: UNLOADING first, then UNAVAILABLE.
        deadline = time.monotonic() + 20
        while (await client.is_model_ready("identity_fp32")) or await _state(client, "identity_fp32") == "UNLOADING":
            assert time.monotonic() < deadline, "identity_fp32 never finished unloading"
            await asyncio.sleep(0.1)
        ready = {m["name"] for m in await client.get_model_repository_index(ready=True)}
        assert "identity_fp32" not in ready and "add_sub" in ready
        everything = {m["name"]: m for m in await client.get_model_repository_index()}
        assert everything["identity_fp32"]["state"] == "UNAVAILABLE"
        assert await client.is_model_ready("identity_fp32") is False
    finally:
        await client.load_model("identity_fp32")
    assert await client.is_model_ready("identity_fp32") is True


async def _state(client, name):
    return {m["name"]: m for m in await client.get_model_repository_index()}[name]["state"]


DOUBLER = textwrap.dedent(
    """
    import numpy as np
    import triton_python_backend_utils as pb_utils

    class TritonPythonModel:
        def execute(self, requests):
            out = []
            for request in requests:
                x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
                out.append(pb_utils.InferenceResponse([pb_utils.Tensor("Y", (x * 2).astype(np.float32))]))
            return out
    """
).encode()


async def test_load_model_with_config_override_and_files(client):
    config = {
        "name": "uploaded_doubler",
        "backend": "python",
        "max_batch_size": 0,
        "input": [{"name": "X", "data_type": "TYPE_FP32", "dims": [3]}],
        "output": [{"name": "Y", "data_type": "TYPE_FP32", "dims": [3]}],
    }
    with pytest.raises(InferenceServerException, match="'files' needs 'config'"):
        await client.load_model("uploaded_doubler", files={"file:1/model.py": DOUBLER})
    await client.load_model("uploaded_doubler", config=json.dumps(config), files={"file:1/model.py": DOUBLER})
    try:
        x = InferInput("X", [3], "FP32").set_data_from_numpy(np.array([1, 2, 3], np.float32))
        result = await client.infer("uploaded_doubler", [x])
        np.testing.assert_array_equal(result.as_numpy("Y"), [2, 4, 6])
    finally:
        await client.unload_model("uploaded_doubler", unload_dependents=True)
    assert await client.is_model_ready("uploaded_doubler") is False


# -- statistics, trace and log settings -----------------------------------------------------


async def test_inference_statistics(client):
    before = await client.get_inference_statistics("add_sub")
    count = before["model_stats"][0]["inference_stats"]["success"]["count"]
    await client.infer("add_sub", add_sub_inputs()[0])
    # The server updates its statistics just after it has answered: allow it a moment.
    deadline = time.monotonic() + 5
    while True:
        after = await client.get_inference_statistics("add_sub", "1")
        if after["model_stats"][0]["inference_stats"]["success"]["count"] > count or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert after["model_stats"][0]["inference_stats"]["success"]["count"] == count + 1
    assert after["model_stats"][0]["version"] == "1"
    everything = await client.get_inference_statistics()
    assert {"add_sub", "echo_all"} <= {m["name"] for m in everything["model_stats"]}


async def test_trace_settings(client):
    settings = await client.get_trace_settings()
    assert "trace_level" in settings and "trace_rate" in settings
    updated = await client.update_trace_settings(model_name="add_sub", settings={"trace_rate": "7"})
    assert updated["trace_rate"] == "7"
    assert (await client.get_trace_settings("add_sub"))["trace_rate"] == "7"
    assert (await client.get_trace_settings())["trace_rate"] == settings["trace_rate"]
    await client.update_trace_settings(model_name="add_sub", settings={"trace_rate": None})
    assert (await client.get_trace_settings("add_sub"))["trace_rate"] == settings["trace_rate"]


async def test_log_settings(client):
    settings = await client.get_log_settings()
    assert "log_verbose_level" in settings
    updated = await client.update_log_settings({"log_verbose_level": 1})
    assert updated["log_verbose_level"] == 1
    await client.update_log_settings({"log_verbose_level": settings["log_verbose_level"]})
    assert (await client.get_log_settings())["log_verbose_level"] == settings["log_verbose_level"]


# -- shared memory --------------------------------------------------------------------------


async def test_system_shared_memory_inputs_and_outputs(client):
    region = shared_memory.SharedMemory(create=True, size=4 * 16 * 4)
    try:
        data = np.ndarray([4, 16], dtype=np.int32, buffer=region.buf)
        data[0] = np.arange(16)
        data[1] = 5
        await client.register_system_shared_memory("regionA", "/" + region.name, 4 * 16 * 4)
        status = await client.get_system_shared_memory_status()
        assert [(s["name"], s["byte_size"]) for s in status] == [("regionA", 256)]
        assert (await client.get_system_shared_memory_status("regionA"))[0]["key"] == "/" + region.name
        inputs = [
            InferInput("INPUT0", [16], "INT32").set_shared_memory("regionA", 64),
            InferInput("INPUT1", [16], "INT32").set_shared_memory("regionA", 64, offset=64),
        ]
        outputs = [
            InferRequestedOutput("OUTPUT0").set_shared_memory("regionA", 64, offset=128),
            InferRequestedOutput("OUTPUT1").set_shared_memory("regionA", 64, offset=192),
        ]
        result = await client.infer("add_sub", inputs, outputs=outputs)
        descriptor = result.get_output("OUTPUT0")
        assert descriptor["shape"] == [16] and "data" not in descriptor
        assert "binary_data_size" not in descriptor.get("parameters", {})
        assert result.as_numpy("OUTPUT0") is None  # the data is in the region, not in the body
        np.testing.assert_array_equal(data[2], np.arange(16) + 5)
        np.testing.assert_array_equal(data[3], np.arange(16) - 5)
        await client.unregister_system_shared_memory("regionA")
        assert await client.get_system_shared_memory_status() == []
        await client.register_system_shared_memory("regionB", "/" + region.name, 64)
        await client.unregister_system_shared_memory()  # all regions
        assert await client.get_system_shared_memory_status() == []
        del data
    finally:
        region.close()
        region.unlink()


async def test_cuda_shared_memory_endpoints_answer_on_a_cpu_server(client):
    status = await client.get_cuda_shared_memory_status()
    assert status == []
    with pytest.raises(InferenceServerException) as info:
        await client.register_cuda_shared_memory("gpu0", b"\x00" * 64, device_id=0, byte_size=64)
    assert info.value.status() == "400" and "failed to register shared memory region" in info.value.message()
    await client.unregister_cuda_shared_memory()
