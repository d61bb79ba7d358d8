"""The high-level API (execute, get_config, list_models) against the real Triton."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from pyotritonclient import (
    InferenceServerException,
    InferenceServerTimeout,
    api,
    execute,
    get_config,
    list_models,
)
from pyotritonclient.api import INFO_KEY, shared_client
from pyotritonclient.http import InferenceServerClient


@pytest.fixture
def url(triton):
    return triton.http_url


def requests_sent(url):
    return shared_client(url).transport.stats["requests"]


async def test_the_documented_example_runs_verbatim(url):
    URL = url
    results = await execute(
        inputs=[np.zeros([2, 349, 467], dtype="float32"), {"diameter": 30}],
        server_url=URL,
        model_name="cellpose-python",
    )
    mask = results["mask"]
    assert mask.shape == (349, 467) and mask.dtype == np.uint16 and not mask.any()
    info = json.loads(results["info"][0])
    assert info == {"diameter": 30, "shape": [2, 349, 467], "param": {"diameter": 30}}
    assert results[INFO_KEY]["model_name"] == "cellpose-python"
    assert [o["name"] for o in results[INFO_KEY]["outputs"]] == ["mask", "info"]


async def test_values_reach_the_model_and_come_back(url):
    image = np.zeros([1, 4, 5], np.float32)
    image[0, 1:3, 2:4] = 1.0
    results = await execute({"image": image, "param": {"threshold": 0.5}}, url, "cellpose-python", decode_json=True)
    np.testing.assert_array_equal(results["mask"], (image[0] > 0.5).astype(np.uint16))
    assert results["info"] == [{"diameter": None, "shape": [1, 4, 5], "param": {"threshold": 0.5}}]


async def test_optional_inputs_may_be_left_out(url):
    image = np.ones([1, 2, 2], np.float32)
    by_list = await execute([image], url, "cellpose-python", decode_json=True)
    by_dict = await execute({"image": image}, url, "cellpose-python", decode_json=True)
    for results in (by_list, by_dict):
        assert results["info"][0]["param"] == {} and results["mask"].tolist() == [[1, 1], [1, 1]]


async def test_strings_and_lists_of_them_are_bytes(url):
    image = np.ones([1, 2, 2], np.float32)
    text = await execute([image, json.dumps({"diameter": 7})], url, "cellpose-python", decode_bytes=True)
    assert isinstance(text["info"][0], str) and json.loads(text["info"][0])["diameter"] == 7
    listed = await execute([image, [{"diameter": 8}]], url, "cellpose-python", decode_json=True)
    assert listed["info"][0]["diameter"] == 8
    raw = await execute([image, {"diameter": 9}], url, "cellpose-python")
    assert raw["info"].dtype == object and isinstance(raw["info"][0], bytes)


async def test_select_outputs(url):
    results = await execute([np.ones([1, 2, 2], np.float32)], url, "cellpose-python", select_outputs=["mask"])
    assert set(results) == {"mask", INFO_KEY}
    with pytest.raises(InferenceServerException, match="has no output 'nope'; its outputs are \\['mask', 'info'\\]"):
        await execute([np.ones([1, 2, 2], np.float32)], url, "cellpose-python", select_outputs=["nope"])


async def test_bad_inputs_are_named_and_nothing_is_sent(url):
    await get_config(url, "cellpose-python", refresh=True)
    before = requests_sent(url)
    cases = [
        ([np.zeros([1, 2, 2])], "input 'image': expected dtype FP32 \\(float32\\), got a float64 array$"),
        ([np.zeros([1, 2, 2], np.float16)], "got a float16 array \\(cast=True or --cast converts it safely\\)"),
        (
            [np.zeros([2, 2], np.float32)],
            "input 'image': expected shape \\[-1, -1, -1\\] \\(-1: any size\\), got \\[2, 2\\]",
        ),
        ([np.zeros([1, 2, 2], np.float32), 5], "input 'param': expected BYTES"),
        ([np.zeros([1, 2, 2], np.float32), {}, "extra"], "takes 2 inputs \\['image', 'param'\\], got 3"),
        ({"imag": np.zeros([1, 2, 2], np.float32)}, "has no input 'imag'; its inputs are \\['image', 'param'\\]"),
        ({"param": {}}, "input 'image' is missing \\(required\\)"),
        (["text"], "input 'image': expected FP32 numbers, got str"),
        (np.zeros(3), "inputs must be a list"),
    ]
    for inputs, message in cases:
        with pytest.raises(InferenceServerException, match=message) as info:
            await execute(inputs, url, "cellpose-python")
        assert info.value.status() is None  # raised here, not by the server
    assert requests_sent(url) == before  # nothing at all was sent (not even a config request)
    stats_before = shared_client(url).transport.stats["requests"]
    with pytest.raises(InferenceServerException, match="execute needs server_url"):
        await execute([], None, "cellpose-python")
    assert shared_client(url).transport.stats["requests"] == stats_before


async def test_cast_only_when_asked_and_only_safely(url):
    half = np.ones([1, 2, 2], np.float16)
    results = await execute([half], url, "cellpose-python", cast=True)
    assert results["mask"].tolist() == [[1, 1], [1, 1]]
    with pytest.raises(InferenceServerException, match="got a float64 array$"):
        await execute([np.ones([1, 2, 2])], url, "cellpose-python", cast=True)  # float64 -> float32 is unsafe
    listed = await execute([[[[1.0, 0.0]]]], url, "cellpose-python")  # plain lists take the model's dtype
    assert listed["mask"].tolist() == [[1, 0]]


async def test_request_id_parameters_headers_and_verbose(url, capsys):
    headers = {"Authorization": "Bearer s3cret"}
    results = await execute(
        [np.arange(3, dtype=np.int32)],
        url,
        "echo_parameters",
        request_id="job-1",
        parameters={"diameter": 30, "flag": True},
        headers=headers,
        decode_json=True,
        verbose=True,
    )
    assert results[INFO_KEY]["id"] == "job-1"
    assert results["PARAMETERS"][0] == {"diameter": 30, "flag": True}
    assert results["OUTPUT0"].tolist() == [0, 1, 2]
    assert headers == {"Authorization": "Bearer s3cret"}
    log = capsys.readouterr().out
    assert "echo_parameters/infer" in log and "s3cret" not in log


async def test_timeout(url):
    with pytest.raises(InferenceServerTimeout, match=r"timed out after|within 0\.4 s"):  # the model answers at 6 s
        await execute([np.array([6.0], np.float32)], url, "slow", timeout=0.4)
    results = await execute([np.array([0.05], np.float32)], url, "slow", timeout=15)
    assert results["OUTPUT0"].tolist() == [pytest.approx(0.05)]
    # The timeout covers the config request of a cold cache too.
    api.forget_config(url, "slow")
    with pytest.raises(InferenceServerTimeout, match="no model config of 'slow' within") as info:
        await execute([np.array([0.0], np.float32)], url, "slow", timeout=0.0001)
    assert info.value.status() == "TIMEOUT"
    assert (await execute([np.array([0.0], np.float32)], url, "slow", timeout=5))["OUTPUT0"].tolist() == [0.0]


@pytest.mark.parametrize("compression", ["gzip", "deflate"])
async def test_compression_both_ways(url, capsys, compression):
    image = np.random.default_rng(0).random([1, 30, 40]).astype(np.float32)
    results = await execute([image, {"threshold": 0.5}], url, "cellpose-python", compression=compression, verbose=True)
    np.testing.assert_array_equal(results["mask"], (image[0] > 0.5).astype(np.uint16))
    log = capsys.readouterr().out
    assert f"'Content-Encoding': '{compression}'" in log and f"'content-encoding': '{compression}'" in log
    plain = await execute([image], url, "cellpose-python", verbose=True)
    assert "content-encoding" not in capsys.readouterr().out.split("-> 200")[-1]
    assert plain["mask"].shape == (30, 40)
    with pytest.raises(InferenceServerException, match="compression must be"):
        await execute([image], url, "cellpose-python", compression="br")


async def test_list_models(url):
    models = {m["name"]: m for m in await list_models(url)}
    assert {"cellpose-python", "cellpose-train", "add_sub", "imjoy_echo"} <= set(models)
    assert models["cellpose-python"]["versions"] == ["1"] and models["cellpose-python"]["state"] == "READY"
    detailed = {m["name"]: m for m in await list_models(url, ready=True, details=True)}
    assert detailed["cellpose-python"]["inputs"] == [
        {"name": "image", "datatype": "FP32", "shape": [-1, -1, -1], "optional": False},
        {"name": "param", "datatype": "BYTES", "shape": [1], "optional": True},
    ]
    assert detailed["cellpose-train"]["inputs"][0]["shape"] == [-1, -1, -1, -1]  # batch dimension first
    assert detailed["cellpose-python"]["outputs"][0] == {"name": "mask", "datatype": "UINT16", "shape": [-1, -1]}
    async with InferenceServerClient(url) as admin:
        await admin.unload_model("raise_error")
        try:
            for _ in range(100):
                listed = {m["name"]: m for m in await list_models(url)}
                if listed["raise_error"]["state"] == "UNAVAILABLE":
                    break
                await asyncio.sleep(0.1)
            assert listed["raise_error"]["state"] == "UNAVAILABLE"
            assert "raise_error" not in {m["name"] for m in await list_models(url, ready=True)}
        finally:
            await admin.load_model("raise_error")


async def test_an_existing_client_is_used(url):
    async with InferenceServerClient(url) as client:
        results = await execute([np.ones([1, 2, 2], np.float32)], model_name="cellpose-python", client=client)
        assert results["mask"].shape == (2, 2)
        assert client.transport.stats["requests"] >= 1


async def test_model_version(url):
    results = await execute([np.ones([1, 2, 2], np.float32)], url, "cellpose-python", model_version="1")
    assert results[INFO_KEY]["model_version"] == "1"
    with pytest.raises(InferenceServerException) as info:
        await execute([np.ones([1, 2, 2], np.float32)], url, "cellpose-python", model_version="9")
    assert info.value.status() == "404" and "'cellpose-python' version 9 is not found" in info.value.message()


async def test_a_sequence_executor_can_use_an_existing_client(url):
    from pyotritonclient import SequenceExecutor

    async with InferenceServerClient(url) as client:
        seq = SequenceExecutor(model_name="cellpose-train", client=client, sequence_id=777)
        step = [np.ones([1, 2, 2], np.float32), np.ones([2, 2], np.uint16), {}]
        await seq.step(step)
        ended = await seq.end()
        assert json.loads(ended["info"].reshape(-1)[0])["steps_done"] == 2
        assert client.transport.stats["requests"] >= 2  # the two steps (the config may be cached)


async def test_headers_reach_the_server(url, capsys):
    # Triton gzips its answer when the request allows it: a header the server visibly acts on.
    image = np.ones([1, 20, 20], np.float32)
    results = await execute([image], url, "cellpose-python", headers={"Accept-Encoding": "gzip"}, verbose=True)
    assert results["mask"].tolist() == np.ones([20, 20], np.uint16).tolist()
    answer = capsys.readouterr().out.split("-> 200")[-1]
    assert "'content-encoding': 'gzip'" in answer


async def test_sequence_controls_of_execute(url):
    step = [np.full([1, 2, 2], 2.0, np.float32), np.ones([2, 2], np.uint16), {"steps": 3}]
    first = await execute(step, url, "cellpose-train", sequence_id=901, sequence_start=True, decode_json=True)
    assert first["info"] == [
        [
            {
                "steps_done": 3,
                "samples": 1,
                "image_sum": 2.0,
                "start": True,
                "end": False,
                "corrid": 901,
                "live": first["info"][0][0]["live"],
            }
        ]
    ]
    second = await execute(step, url, "cellpose-train", sequence_id=901, decode_json=True)
    assert second["info"][0][0]["steps_done"] == 6 and second["info"][0][0]["start"] is False
    last = await execute(step, url, "cellpose-train", sequence_id=901, sequence_end=True, decode_json=True)
    assert last["info"][0][0]["steps_done"] == 9 and last["info"][0][0]["end"] is True
    assert last["loss"].tolist() == [[pytest.approx(1 / 10)]]
    with pytest.raises(InferenceServerException, match="START"):  # ended: continuing it is refused
        await execute(step, url, "cellpose-train", sequence_id=901)


async def test_list_models_with_a_client_and_headers(url):
    async with InferenceServerClient(url) as client:
        models = await list_models(url, client=client, headers={"X-Trace": "1"}, ready=True)
        assert "cellpose-python" in {m["name"] for m in models} and client.transport.stats["requests"] == 1
        config = await get_config(url, "cellpose-train", client=client, refresh=True, headers={"X-Trace": "1"})
        assert config["sequence_batching"]["control_input"][2]["name"] == "CORRID"
        assert client.transport.stats["requests"] == 2


def test_import_is_lazy_and_needs_no_numpy():
    import subprocess
    import sys

    script = (
        "import sys, pyotritonclient\n"
        "print('numpy' in sys.modules)\n"
        "from pyotritonclient import execute, execute_batch, get_config, list_models\n"
        "from pyotritonclient import SequenceExecutor, SequenceExcutor\n"
        "print(SequenceExcutor is SequenceExecutor, callable(execute), 'numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True", "True", "False"], out.stderr
