"""The service streams a model's events (issue 36), against the real Triton serving a real decoupled model that
stops when Triton cancels its request (tests/models/cancellable_stream): events in order and then the end, an error
after the 200 as an error, and every way a stream stops reaching the model (the caller stops, disconnects, leaves
it idle, passes a bound, the service stops). The model writes what it produced to a file: that is how a test sees,
from outside, that Triton stopped it."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict

import pytest

from pyotritonclient.service import ServiceConfig, ServiceError, TritonService

PROGRESS = Path(
    os.environ.get("STREAM_PROGRESS_DIR") or Path(tempfile.gettempdir()) / "pyotritonclient-stream-progress"
)
ALICE = {"from": "ws-1/alice", "user": {"id": "alice"}}
BOB = {"from": "ws-2/bob", "user": {"id": "bob"}}
MODEL = "cancellable_stream"


def tagged(**inputs: Any) -> Dict[str, Any]:
    """The model's inputs with a fresh TAG, which names its progress file."""
    return {"TAG": uuid.uuid4().hex, **inputs}


async def finished(tag: str, within: float = 30.0) -> Dict[str, Any]:
    """The model's record once its request is over (it stopped, finished or was cancelled)."""
    path = PROGRESS / f"{tag}.json"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists():
            state = json.loads(path.read_text())
            if state["done"]:
                return state  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError(f"the model did not finish request {tag} within {within} s")


@pytest.fixture
async def service(triton):
    made = TritonService(ServiceConfig(triton.http_url))
    yield made
    await made.close()


async def test_events_arrive_in_order_and_the_stream_ends(service):
    inputs = tagged(COUNT=5)
    stream = await service.generate_stream(MODEL, inputs, context=ALICE)
    tokens = [event["TOKEN"] async for event in stream]
    assert tokens == [f"token {i}" for i in range(5)]
    assert await finished(inputs["TAG"]) == {"produced": 5, "cancelled": False, "done": True}
    assert service.streams.open == {} and await service.get_load() == 0
    with pytest.raises(StopAsyncIteration):  # a finished stream stays finished
        await stream.__anext__()


async def test_an_error_after_the_200_reaches_the_caller_after_the_events_before_it(service):
    stream = await service.generate_stream(MODEL, tagged(COUNT=5, FAIL_AT=2), context=ALICE)
    tokens = []
    with pytest.raises(ServiceError, match="deliberate failure at token 2"):
        async for event in stream:
            tokens.append(event["TOKEN"])
    assert tokens == ["token 0", "token 1"]
    assert service.streams.open == {}


async def test_a_caller_that_stops_iterating_stops_the_model(service):
    inputs = tagged(COUNT=1000, DELAY=0.02)
    stream = await service.generate_stream(MODEL, inputs, context=ALICE)
    async for event in stream:
        if event["TOKEN"] == "token 2":
            break
    await stream.aclose()
    state = await finished(inputs["TAG"])
    assert state["cancelled"] and state["produced"] < 1000, state
    assert service.streams.open == {}


async def test_a_disconnected_caller_leaves_no_stream_running(service):
    inputs = tagged(COUNT=1000, DELAY=0.02)
    stream = await service.generate_stream(MODEL, inputs, context=ALICE)
    assert (await stream.__anext__())["TOKEN"] == "token 0"
    others = await service.generate_stream(MODEL, tagged(COUNT=2), context=BOB)
    assert await service.release_caller(ALICE) == 0  # (no sequences; the stream is ended all the same)
    state = await finished(inputs["TAG"])
    assert state["cancelled"] and state["produced"] < 1000, state
    assert list(service.streams.open.values()) == [others]
    with pytest.raises(ServiceError, match="its caller disconnected"):
        await stream.__anext__()
    assert [e["TOKEN"] async for e in others] == ["token 0", "token 1"]  # Bob's stream is not touched


async def test_a_stream_left_idle_is_ended_and_the_model_stopped(triton):
    service = TritonService(ServiceConfig(triton.http_url, stream_idle_timeout=0.3))
    try:
        inputs = tagged(COUNT=100_000, DELAY=0.01)
        stream = await service.generate_stream(MODEL, inputs, context=ALICE)
        assert (await stream.__anext__())["TOKEN"] == "token 0"
        state = await finished(inputs["TAG"])  # nobody asks for more: the reaper ends it
        assert state["cancelled"], state
        with pytest.raises(ServiceError, match=r"did not ask for the next event within 0.3 s"):
            await stream.__anext__()
        assert service.streams.open == {}
    finally:
        await service.close()


@pytest.mark.parametrize(
    "limits, inputs, message",
    [
        ({"stream_max_events": 3}, {"COUNT": 1000, "DELAY": 0.01}, "passed 3 events"),
        ({"stream_max_bytes": 5000}, {"COUNT": 1000, "DELAY": 0.01, "SIZE": 1000}, "passed 5000 bytes"),
    ],
)
async def test_a_stream_past_its_bound_is_ended_and_the_model_stopped(triton, limits, inputs, message):
    service = TritonService(ServiceConfig(triton.http_url, **limits))
    try:
        given = tagged(**inputs)
        stream = await service.generate_stream(MODEL, given, context=ALICE)
        seen = 0
        with pytest.raises(ServiceError, match=message):
            async for _ in stream:
                seen += 1
        assert seen <= 5, seen
        state = await finished(given["TAG"])
        assert state["cancelled"] and state["produced"] < 1000, state
    finally:
        await service.close()


async def test_a_caller_may_hold_only_so_many_streams(triton):
    service = TritonService(ServiceConfig(triton.http_url, max_streams_per_caller=2))
    try:
        held = [await service.generate_stream(MODEL, tagged(COUNT=100, DELAY=0.01), context=ALICE) for _ in range(2)]
        with pytest.raises(ServiceError, match="you have 2 open streams, the most this service allows per caller"):
            await service.generate_stream(MODEL, tagged(COUNT=1), context=ALICE)
        bobs = await service.generate_stream(MODEL, tagged(COUNT=1), context=BOB)  # another caller is not counted
        assert [e["TOKEN"] async for e in bobs] == ["token 0"]
        await held[0].aclose()
        again = await service.generate_stream(MODEL, tagged(COUNT=1), context=ALICE)  # a slot is free again
        assert [e["TOKEN"] async for e in again] == ["token 0"]
    finally:
        await service.close()


async def test_stopping_the_service_ends_its_streams(triton):
    service = TritonService(ServiceConfig(triton.http_url))
    inputs = tagged(COUNT=1000, DELAY=0.02)
    stream = await service.generate_stream(MODEL, inputs, context=ALICE)
    assert (await stream.__anext__())["TOKEN"] == "token 0"
    assert await service.get_load() == 1  # an open stream is load
    report = await service.drain(5, "the replica is stopping")
    assert report.calls_left == 0
    assert (await finished(inputs["TAG"]))["cancelled"]
    with pytest.raises(ServiceError, match="the replica is stopping"):
        await stream.__anext__()
    await service.close()


@pytest.mark.parametrize(
    "inputs, message",
    [
        (["not", "a", "dict"], "inputs must be an object of input name -> value, got list"),
        ({"TAG": object()}, "must be JSON values"),
        ({"TAG": "x", "parameters": {"sequence_id": 5}}, "'parameters' is not an input"),
        (
            {"TAG": "x", "_parameters": {"sequence_id": 5}},
            "'sequence_id' is kept .*sequence_start/step/end",
        ),
        ({"TAG": "x", "_parameters": {"triton_enable_empty_final_response": True}}, "is kept for Triton"),
        ({"TAG": "x", "_parameters": {"timeout": 5}}, "parameter 'timeout' is kept for Triton"),
    ],
)
async def test_bad_inputs_are_refused_before_anything_is_sent(service, inputs, message):
    """Bad inputs, and request parameters that would reach past the service (a sequence's id would step a
    sequence on Triton that the service's sequences own) are refused with a message."""
    parameters = inputs.pop("_parameters", None) if isinstance(inputs, dict) else None
    with pytest.raises(ServiceError, match=message):
        await service.generate_stream(MODEL, inputs, parameters=parameters, context=ALICE)
    assert service.streams.open == {}


async def test_an_unknown_model_is_an_error_of_the_stream(service):
    stream = await service.generate_stream("no_such_model", {"x": 1}, context=ALICE)
    with pytest.raises(ServiceError, match="no_such_model"):
        await stream.__anext__()
    assert service.streams.open == {}
