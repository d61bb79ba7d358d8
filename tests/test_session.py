"""Sessions against the real Triton: pooled clients, the config cache and its recheck rule, closing with the loop."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from pyotritonclient import (
    InferenceServerException,
    api,
    execute,
    get_config,
)
from pyotritonclient.api import shared_client
from pyotritonclient.engine import server as session_module
from pyotritonclient.engine.registry import session_for
from pyotritonclient.http import InferenceServerClient


@pytest.fixture
def url(triton):
    return triton.http_url


def requests_sent(url):
    return shared_client(url).transport.stats["requests"]


async def test_config_is_cached_refreshable_and_shows_the_server_url(url):
    api.forget_config(url, "cellpose-python")  # other tests may have read it first, spelled otherwise
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
        assert info.value.status() == "404" and "changing" in info.value.message()
        assert session_for(url).cached_config("changing") is None


async def test_a_hundred_calls_reuse_pooled_connections(url):
    image = np.ones([1, 8, 8], np.float32)
    await execute([image], url, "cellpose-python")  # config cached, one connection open
    stats = shared_client(url).transport.stats
    connections, requests = stats["connections_created"], stats["requests"]
    for _ in range(100):
        await execute([image], url, "cellpose-python")
    assert stats["requests"] - requests == 100  # one request a call: the config came from the cache
    assert stats["connections_created"] - connections <= 1  # (at most one, if the server closed an idle one)


async def test_concurrent_execute_calls_share_a_bounded_pool_and_one_config_read(url):
    image = np.ones([1, 16, 16], np.float32)
    api.forget_config(url, "cellpose-python")
    before = requests_sent(url)
    results = await asyncio.gather(*[execute([image], url, "cellpose-python") for _ in range(20)])
    assert all(r["mask"].shape == (16, 16) for r in results)
    assert requests_sent(url) - before == 1 + 20  # the calls started together shared one config request


async def test_host_port_and_http_urls_share_one_pooled_client_and_config(triton):
    bare, full = triton.url, triton.http_url
    assert "://" not in bare and full.startswith("http://")
    results = await execute([np.ones([1, 2, 3], np.float32)], bare, "cellpose-python")
    assert results["mask"].shape == (2, 3)
    assert shared_client(bare) is shared_client(full) is shared_client(full + "/")
    assert await get_config(bare, "cellpose-python") is await get_config(full, "cellpose-python")


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


async def test_close_clients_closes_the_pooled_ones():
    from pyotritonclient import close_clients

    client = shared_client("127.0.0.1:1")
    await close_clients()
    assert client.closed and shared_client("127.0.0.1:1") is not client
    await close_clients()


def test_a_script_with_asyncio_run_ends_cleanly(triton):
    """The pooled clients close with their loop: no "Unclosed client session" at the end of asyncio.run."""
    import subprocess
    import sys

    script = (
        "import asyncio, sys, numpy as np\n"
        "from pyotritonclient import execute\n"
        "from pyotritonclient.engine import registry as S\n"
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
