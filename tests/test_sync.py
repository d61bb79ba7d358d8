"""The blocking facade (pyotritonclient.sync) against the real Triton, also inside a running event loop."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from pyotritonclient.http import InferenceServerException, InferInput
from pyotritonclient.sync import InferenceServerClient


def inputs():
    a = InferInput("INPUT0", [16], "INT32").set_data_from_numpy(np.arange(16, dtype=np.int32))
    b = InferInput("INPUT1", [16], "INT32").set_data_from_numpy(np.ones(16, dtype=np.int32))
    return [a, b]


def test_blocking_calls(triton):
    with InferenceServerClient(triton.url) as client:
        # (server readiness depends on every model: another module's load/unload tests can flip it)
        assert client.is_server_live() is True and client.is_model_ready("add_sub") is True
        assert client.get_model_metadata("add_sub")["name"] == "add_sub"
        result = client.infer("add_sub", inputs())
        assert result.as_numpy("OUTPUT0").tolist() == list(range(1, 17))
        with pytest.raises(InferenceServerException) as info:
            client.get_model_config("no_such_model")
        assert info.value.status() == "404"
        assert client.url == triton.http_url + "/"
    with pytest.raises(InferenceServerException, match="closed"):
        client.is_server_live()


def test_generate_stream_is_an_iterator_of_events_as_they_come(triton):
    with InferenceServerClient(triton.url) as client:
        started = time.monotonic()
        arrivals, texts = [], []
        for event in client.generate_stream("decoupled_stream", {"TEXT": "s", "COUNT": 3, "DELAY": 1.0}):
            arrivals.append(time.monotonic() - started)
            texts.append(event["TEXT"])
    assert texts == ["s 0", "s 1", "s 2"] and arrivals[0] < arrivals[-1] - 1.0


async def test_works_where_an_event_loop_is_already_running(triton):
    # (as in Jupyter: the facade's own loop lives in its thread)
    asyncio.get_running_loop()
    with InferenceServerClient(triton.url) as client:
        assert client.infer("add_sub", inputs()).as_numpy("OUTPUT1").tolist() == list(range(-1, 15))


def test_breaking_out_of_a_stream_early_leaves_the_client_usable(triton):
    with InferenceServerClient(triton.url) as client:
        for event in client.generate_stream("decoupled_stream", {"TEXT": "b", "COUNT": 5, "DELAY": 0.2}):
            assert event["TEXT"] == "b 0"
            break
        assert client.infer("add_sub", inputs()).as_numpy("OUTPUT0").tolist() == list(range(1, 17))


def test_a_client_timeout_in_blocking_calls(triton):
    from pyotritonclient.http import InferenceServerTimeout

    delay = InferInput("DELAY", [1], "FP32").set_data_from_numpy(np.array([6.0], np.float32))
    with InferenceServerClient(triton.url) as client:
        with pytest.raises(InferenceServerTimeout, match="timed out"):  # the model would answer after 6 s
            client.infer("slow", [delay], client_timeout=0.5)


def test_one_client_used_from_several_threads(triton):
    from concurrent.futures import ThreadPoolExecutor

    with InferenceServerClient(triton.url) as client:

        def call(k):
            a = InferInput("INPUT0", [16], "INT32").set_data_from_numpy(np.full(16, k, np.int32))
            b = InferInput("INPUT1", [16], "INT32").set_data_from_numpy(np.ones(16, np.int32))
            return client.infer("add_sub", [a, b]).as_numpy("OUTPUT0").tolist()

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, range(32)))
    assert results == [[k + 1] * 16 for k in range(32)]
