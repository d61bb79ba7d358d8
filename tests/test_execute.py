"""The high-level API (execute, execute_batch, get_config, list_models) against the real Triton."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest

from pyotritonclient import (
    InferenceServerException,
    InferenceServerTimeout,
    execute,
    execute_batch,
    execution,
    get_config,
    list_models,
)
from pyotritonclient import session as session_module
from pyotritonclient.execution import INFO_KEY, shared_client
from pyotritonclient.http import InferenceServerClient
from pyotritonclient.session import session_for


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
        ([np.zeros([1, 2, 2], np.float16)], "got a float16 array \\(pass cast=True to convert it safely\\)"),
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
    started = time.monotonic()
    with pytest.raises(InferenceServerTimeout):
        await execute([np.array([2.0], np.float32)], url, "slow", timeout=0.4)
    assert time.monotonic() - started < 1.5
    results = await execute([np.array([0.05], np.float32)], url, "slow", timeout=5)
    assert results["OUTPUT0"].tolist() == [pytest.approx(0.05)]
    # The timeout covers the config request of a cold cache too.
    execution.forget_config(url, "slow")
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


async def test_config_is_cached_refreshable_and_shows_the_server_url(url):
    first = await get_config(url, "cellpose-python")
    assert first["server_url"] == url and first["model_name"] == "cellpose-python"
    before = requests_sent(url)
    assert await get_config(url, "cellpose-python") is first
    assert requests_sent(url) == before
    fresh = await get_config(url, "cellpose-python", refresh=True)
    assert fresh is not first and fresh["input"] == first["input"] and requests_sent(url) == before + 1


CHANGING = b"""
import numpy as np
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def execute(self, requests):
        out = []
        for r in requests:
            x = pb_utils.get_input_tensor_by_name(r, "X").as_numpy()
            out.append(pb_utils.InferenceResponse([pb_utils.Tensor("Y", (x + 1).astype(x.dtype))]))
        return out
"""


def changing_config(dims, dtype):
    return json.dumps(
        {
            "name": "changing",
            "backend": "python",
            "max_batch_size": 0,
            "input": [{"name": "X", "data_type": dtype, "dims": dims}],
            "output": [{"name": "Y", "data_type": dtype, "dims": dims}],
        }
    )


async def test_a_changed_model_refreshes_the_cached_config(url, monkeypatch):
    async with InferenceServerClient(url) as admin:
        await admin.load_model(
            "changing", config=changing_config([3], "TYPE_FP32"), files={"file:1/model.py": CHANGING}
        )
        try:
            out = await execute([np.zeros(3, np.float32)], url, "changing")
            assert out["Y"].tolist() == [1, 1, 1]
            # The model changes on the server: new shape and dtype. The cached config is now stale.
            await admin.load_model(
                "changing", config=changing_config([4], "TYPE_INT32"), files={"file:1/model.py": CHANGING}
            )
            # A config read less than CONFIG_RECHECK_SECONDS ago is trusted: refused here, nothing sent.
            before = requests_sent(url)
            with pytest.raises(InferenceServerException, match="input 'X': expected dtype FP32"):
                await execute([np.zeros(4, np.int32)], url, "changing")
            assert requests_sent(url) == before
            # An older one is read again when it refuses inputs: the model changed, so the call goes through.
            monkeypatch.setattr(session_module, "CONFIG_RECHECK_SECONDS", 0.0)
            out = await execute([np.zeros(4, np.int32)], url, "changing")
            assert requests_sent(url) == before + 2  # the config, then the inference
            assert out["Y"].tolist() == [1, 1, 1, 1] and out["Y"].dtype == np.int32
            assert session_for(url).cached_config("changing")["input"][0]["data_type"] == "TYPE_INT32"
        finally:
            await admin.unload_model("changing")
        # Gone from the server: the error says so, and the config is dropped from the cache.
        for _ in range(100):
            if not await admin.is_model_ready("changing"):
                break
            await asyncio.sleep(0.1)
        with pytest.raises(InferenceServerException) as info:
            await execute([np.zeros(4, np.int32)], url, "changing")
        assert info.value.status() in ("400", "404") and "changing" in info.value.message()
        assert session_for(url).cached_config("changing") is None


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


async def test_a_hundred_calls_reuse_pooled_connections(url):
    image = np.ones([1, 8, 8], np.float32)
    await execute([image], url, "cellpose-python")  # config cached, one connection open
    stats = shared_client(url).transport.stats
    connections, requests = stats["connections_created"], stats["requests"]
    for _ in range(100):
        await execute([image], url, "cellpose-python")
    assert stats["requests"] - requests == 100  # one request a call: the config came from the cache
    assert stats["connections_created"] - connections <= 1  # (at most one, if the server closed an idle one)


async def test_an_existing_client_is_used(url):
    async with InferenceServerClient(url) as client:
        results = await execute([np.ones([1, 2, 2], np.float32)], model_name="cellpose-python", client=client)
        assert results["mask"].shape == (2, 2)
        assert client.transport.stats["requests"] >= 1


async def test_execute_batch_keeps_order_and_reports_failures_in_place(url):
    batches = [[np.full([1, 2, 2], i, np.float32), {"diameter": i}] for i in range(8)]
    batches[3] = [np.zeros([2, 2], np.float32)]  # wrong shape: fails alone
    progress = []
    results = await execute_batch(
        batches,
        server_url=url,
        model_name="cellpose-python",
        decode_json=True,
        concurrency=3,
        on_progress=lambda done, total, i, r: progress.append((done, total, i)),
    )
    assert isinstance(results[3], InferenceServerException) and "expected shape" in str(results[3])
    for i, result in enumerate(results):
        if i != 3:
            assert result["info"][0]["diameter"] == i
    assert sorted(i for _, _, i in progress) == list(range(8)) and progress[-1][:2] == (8, 8)
    with pytest.raises(InferenceServerException, match="expected shape"):
        await execute_batch(batches, server_url=url, model_name="cellpose-python", raise_errors=True)


async def test_execute_batch_old_arguments(url):
    batches = [[np.full([1, 2, 2], i, np.float32), {"diameter": i}] for i in range(5)]
    seen = []
    results = await execute_batch(
        batches,
        2,
        lambda start, group: seen.append((start, len(group))),
        server_url=url,
        model_name="cellpose-python",
        decode_json=True,
    )
    assert seen == [(0, 2), (2, 2), (4, 1)]
    assert [r["info"][0]["diameter"] for r in results] == list(range(5))


async def test_concurrent_execute_calls_share_a_bounded_pool_and_one_config_read(url):
    image = np.ones([1, 16, 16], np.float32)
    execution.forget_config(url, "cellpose-python")
    before = requests_sent(url)
    results = await asyncio.gather(*[execute([image], url, "cellpose-python") for _ in range(20)])
    assert all(r["mask"].shape == (16, 16) for r in results)
    assert requests_sent(url) - before == 1 + 20  # the calls started together shared one config request


async def test_model_version(url):
    results = await execute([np.ones([1, 2, 2], np.float32)], url, "cellpose-python", model_version="1")
    assert results[INFO_KEY]["model_version"] == "1"
    with pytest.raises(InferenceServerException) as info:
        await execute([np.ones([1, 2, 2], np.float32)], url, "cellpose-python", model_version="9")
    assert info.value.status() in ("400", "404") and "9" in info.value.message()


async def test_a_sequence_executor_can_use_an_existing_client(url):
    from pyotritonclient import SequenceExecutor

    async with InferenceServerClient(url) as client:
        seq = SequenceExecutor(model_name="cellpose-train", client=client, sequence_id=777)
        step = [np.ones([1, 2, 2], np.float32), np.ones([2, 2], np.uint16), {}]
        await seq.step(step)
        ended = await seq.end()
        assert json.loads(ended["info"].reshape(-1)[0])["steps_done"] == 2
        assert client.transport.stats["requests"] >= 2  # the two steps (the config may be cached)


async def test_host_port_and_http_urls_share_one_pooled_client_and_config(triton):
    bare, full = triton.url, triton.http_url
    assert "://" not in bare and full.startswith("http://")
    results = await execute([np.ones([1, 2, 3], np.float32)], bare, "cellpose-python")
    assert results["mask"].shape == (2, 3)
    assert shared_client(bare) is shared_client(full) is shared_client(full + "/")
    assert await get_config(bare, "cellpose-python") is await get_config(full, "cellpose-python")


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


async def test_execute_batch_positional_url_and_model_and_one_config_read(url):
    batches = [[np.full([1, 2, 2], i, np.float32), {"diameter": i}] for i in range(6)]
    execution.forget_config(url, "cellpose-python")
    before = requests_sent(url)
    results = await execute_batch(batches, url, "cellpose-python", concurrency=6, decode_json=True)
    assert [r["info"][0]["diameter"] for r in results] == list(range(6))
    assert requests_sent(url) - before == 1 + 6  # one config request, then the items
    with pytest.raises(TypeError, match="multiple values for argument 'server_url'"):
        await execute_batch(batches, url, "cellpose-python", server_url=url)


async def test_execute_batch_on_batch_end_alone_runs_one_at_a_time_as_0_2_did(url):
    batches = [[np.full([1, 2, 2], i, np.float32), {"diameter": i}] for i in range(3)]
    seen = []

    async def on_batch_end(start, group):  # a coroutine callback is awaited
        seen.append((start, [r["info"][0]["diameter"] for r in group]))

    await execute_batch(
        batches, server_url=url, model_name="cellpose-python", decode_json=True, on_batch_end=on_batch_end
    )
    assert seen == [(0, [0]), (1, [1]), (2, [2])]
    with pytest.raises(InferenceServerException, match="batch_size must be a positive int"):
        await execute_batch(batches, server_url=url, model_name="cellpose-python", batch_size=0)
    with pytest.raises(InferenceServerException, match="concurrency must be at least 1"):
        await execute_batch(batches, server_url=url, model_name="cellpose-python", concurrency=0)


async def test_execute_batch_with_a_missing_model_reports_every_item(url):
    results = await execute_batch([[np.ones([1, 2, 2], np.float32)]] * 3, url, "no-such-model")
    assert all(isinstance(r, InferenceServerException) and r.status() in ("400", "404") for r in results)


async def test_cache_config_false_reads_the_config_every_time(url):
    await get_config(url, "cellpose-python")
    before = requests_sent(url)
    await execute([np.ones([1, 2, 2], np.float32)], url, "cellpose-python", cache_config=False)
    assert requests_sent(url) - before == 2


async def test_a_stale_config_refused_by_the_server_is_read_again_and_the_call_retried(url):
    # The list [1, 2, 3] is sent as FP32 under the cached config; the reloaded model wants INT32, so the
    # server refuses it (400); execute reads the config again and the retry converts the list to INT32.
    async with InferenceServerClient(url) as admin:
        await admin.load_model(
            "changing2",
            config=changing_config([3], "TYPE_FP32").replace('"changing"', '"changing2"'),
            files={"file:1/model.py": CHANGING},
        )
        try:
            assert (await execute([[1, 2, 3]], url, "changing2"))["Y"].dtype == np.float32
            await admin.load_model(
                "changing2",
                config=changing_config([3], "TYPE_INT32").replace('"changing"', '"changing2"'),
                files={"file:1/model.py": CHANGING},
            )
            before = requests_sent(url)
            out = await execute([[1, 2, 3]], url, "changing2")
            assert out["Y"].dtype == np.int32 and out["Y"].tolist() == [2, 3, 4]
            assert requests_sent(url) - before == 3  # refused inference, config, inference
        finally:
            await admin.unload_model("changing2")


async def test_list_models_with_a_client_and_headers(url):
    async with InferenceServerClient(url) as client:
        models = await list_models(url, client=client, headers={"X-Trace": "1"}, ready=True)
        assert "cellpose-python" in {m["name"] for m in models} and client.transport.stats["requests"] == 1
        config = await get_config(url, "cellpose-train", client=client, refresh=True, headers={"X-Trace": "1"})
        assert config["sequence_batching"]["control_input"][2]["name"] == "CORRID"
        assert client.transport.stats["requests"] == 2


async def test_close_clients_closes_the_pooled_ones():
    from pyotritonclient import close_clients

    client = shared_client("127.0.0.1:1")
    await close_clients()
    assert client.closed and shared_client("127.0.0.1:1") is not client
    await close_clients()


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


def test_a_script_with_asyncio_run_ends_cleanly(triton):
    """The pooled clients close with their loop: no "Unclosed client session" at the end of asyncio.run."""
    import subprocess
    import sys

    script = (
        "import asyncio, sys, numpy as np\n"
        "from pyotritonclient import execute\n"
        "from pyotritonclient import session as S\n"
        "def open_clients():\n"
        "    return sum(1 for ls in list(S._by_loop.values()) for s in ls.sessions.values()\n"
        "               if s._client is not None and not s._client.closed)\n"
        "async def main():\n"
        "    r = await execute([np.ones([1, 2, 2], np.float32)], sys.argv[1], 'cellpose-python')\n"
        "    print(r['mask'].shape == (2, 2), open_clients())\n"
        "asyncio.run(main())\n"
        "asyncio.run(main())\n"
        "print('left', open_clients())\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "always", "-c", script, triton.url], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["True", "1", "True", "1", "left", "0"], out.stderr
    assert "Unclosed" not in out.stderr and "unclosed" not in out.stderr, out.stderr


async def test_execute_batch_keeps_at_most_concurrency_calls_in_flight(url, monkeypatch):
    in_flight, peak = 0, 0
    real_execute = execution.execute

    async def counting_execute(*args, **kwargs):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.02)  # overlap the calls
            return await real_execute(*args, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(execution, "execute", counting_execute)
    progress = []

    async def on_progress(done, total, index, result):  # an async callback is awaited
        progress.append(done)

    batches = [[np.ones([1, 2, 2], np.float32)]] * 10
    for concurrency in (1, 3):
        peak = 0
        results = await execute_batch(batches, url, "cellpose-python", concurrency=concurrency, on_progress=on_progress)
        assert peak == concurrency and all(r["mask"].shape == (2, 2) for r in results)
    assert progress == list(range(1, 11)) * 2
