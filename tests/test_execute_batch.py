"""execute_batch against the real Triton: order, failures in place, bounded concurrency, 0.2.x forms."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from pyotritonclient import (
    InferenceServerException,
    api,
    execute_batch,
)
from pyotritonclient.api import shared_client


@pytest.fixture
def url(triton):
    return triton.http_url


def requests_sent(url):
    return shared_client(url).transport.stats["requests"]


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


async def test_execute_batch_positional_url_and_model_and_one_config_read(url):
    batches = [[np.full([1, 2, 2], i, np.float32), {"diameter": i}] for i in range(6)]
    api.forget_config(url, "cellpose-python")
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


async def test_execute_batch_keeps_at_most_concurrency_calls_in_flight(url, monkeypatch):
    in_flight, peak = 0, 0
    real_execute = api.execute

    async def counting_execute(*args, **kwargs):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.02)  # overlap the calls
            return await real_execute(*args, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(api, "execute", counting_execute)
    progress = []

    async def on_progress(done, total, index, result):  # an async callback is awaited
        progress.append(done)

    batches = [[np.ones([1, 2, 2], np.float32)]] * 10
    for concurrency in (1, 3):
        peak = 0
        results = await execute_batch(batches, url, "cellpose-python", concurrency=concurrency, on_progress=on_progress)
        assert peak == concurrency and all(r["mask"].shape == (2, 2) for r in results)
    assert progress == list(range(1, 11)) * 2
