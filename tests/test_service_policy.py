"""The service's limits and options, against the real Triton: sequence limits and ids, the allowlist's positive
path, the execute options callers may give, and the "gone twice in a row" rule for callers that leave."""

from __future__ import annotations

import numpy as np
import pytest

from pyotritonclient.service import ServiceConfig, ServiceError, TritonService

ALICE = {"from": "ws-1/alice"}
BOB = {"from": "ws-2/bob"}


def one(value):
    return [np.array([value], np.int32)]


@pytest.fixture
async def small(triton):
    svc = TritonService(ServiceConfig(triton.http_url, max_sequences_per_caller=2, max_sequences=3))
    yield svc
    await svc.close()


async def test_sequence_limits_per_caller_and_in_all(small):
    a1 = await small.sequence_start("sequence_accumulate", context=ALICE)
    await small.sequence_start("sequence_accumulate", context=ALICE)
    with pytest.raises(ServiceError, match=r"too many open sequences \(limit 2\); end some first"):
        await small.sequence_start("sequence_accumulate", context=ALICE)
    await small.sequence_start("sequence_accumulate", context=BOB)
    with pytest.raises(ServiceError, match="the service has 3 open sequences, its limit; try again later"):
        await small.sequence_start("sequence_accumulate", context=BOB)
    await small.sequence_end(a1, one(1), context=ALICE)  # freeing one makes room again
    await small.sequence_start("sequence_accumulate", context=BOB)


async def test_a_chosen_sequence_id_is_used_and_cannot_be_opened_twice(small):
    assert await small.sequence_start("sequence_accumulate", sequence_id=777001, context=ALICE) == 777001
    with pytest.raises(ServiceError, match="sequence 777001 is already open"):
        await small.sequence_start("sequence_accumulate", sequence_id=777001, context=ALICE)
    out = await small.sequence_step(777001, one(4), context=ALICE)
    assert out["OUTPUT"].tolist() == [[4]]


async def test_an_allowed_second_url_is_used_in_the_allowlists_own_spelling(triton):
    host_port = triton.url  # "127.0.0.1:<port>"
    svc = TritonService(ServiceConfig("http://127.0.0.1:9", allowed_urls=[f"http://{host_port}/"]))
    try:
        assert svc.config.allowed() == sorted(["http://127.0.0.1:9/", f"http://{host_port}/"])
        models = await svc.list_models(server_url=host_port)  # another spelling of the allowed URL
        assert "add_sub" in {m["name"] for m in models}
        with pytest.raises(ServiceError, match=r"\[UNAVAILABLE\].*127\.0\.0\.1:9"):
            await svc.list_models()  # the default one is down
    finally:
        await svc.close()


async def test_execute_options_reach_the_model(triton):
    svc = TritonService(ServiceConfig(triton.http_url))
    try:
        a, b = np.arange(16, dtype=np.int32), np.full(16, 2, np.int32)
        out = await svc.call("execute", ({"model_name": "add_sub", "inputs": [a, b], "select_outputs": ["OUTPUT1"]},))
        assert sorted(out) == ["OUTPUT1", "__info__"] and out["OUTPUT1"].tolist() == (a - b).tolist()
        out = await svc.execute("add_sub", [a, b], model_version="1")
        assert out["__info__"]["model_version"] == "1"
        with pytest.raises(ServiceError, match="'add_sub' version 3 is not found"):
            await svc.execute("add_sub", [a, b], model_version="3")
        out = await svc.execute("echo_parameters", [np.array([1, 2, 3], np.int32)], parameters={"colour": "red"})
        assert out["PARAMETERS"][0]["colour"] == "red"  # BYTES decoded as JSON: the service's default
        out = await svc.execute("imjoy_echo", [{"a": [1, 2], "b": "x"}], serialization="imjoy")
        assert out["outputs"]["echo"] == {"a": [1, 2], "b": "x"}  # decoded back by the imjoy codec
        with pytest.raises(ServiceError, match="serialization must be None, 'triton' or 'imjoy'"):
            await svc.execute("add_sub", [a, b], serialization="pickle")
    finally:
        await svc.close()


async def test_a_caller_gone_twice_in_a_row_is_released_once_only(triton):
    answers = {"ws-2/bob": [False, True, False, False]}  # gone, back (reconnected), gone, gone

    async def alive(caller):
        return answers[caller].pop(0)

    svc = TritonService(ServiceConfig(triton.http_url), caller_alive=alive)
    try:
        await svc.sequence_start("sequence_accumulate", context=BOB)
        assert await svc.check_callers() == []  # gone once
        assert await svc.check_callers() == []  # back: the count starts again
        assert await svc.check_callers() == []  # gone once more
        assert len(await svc.list_sequences(context=BOB)) == 1
        assert await svc.check_callers() == ["ws-2/bob"]  # gone twice in a row: released
        assert await svc.list_sequences(context=BOB) == []
    finally:
        await svc.close()
