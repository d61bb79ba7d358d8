"""Stopping a ``generate_stream`` stops the model on Triton (issue 36), in CPython: the async client closed after a
break, the blocking client's loop left with break, and a stream that times out (Triton silent for longer than the
caller's ``timeout``). The real Triton and the real decoupled model that records whether it was cancelled."""

from __future__ import annotations

from contextlib import aclosing

import pytest
from test_service_streams import finished, tagged

from pyotritonclient.errors import InferenceServerException
from pyotritonclient.http import InferenceServerClient

MODEL = "cancellable_stream"


async def test_the_async_client_closed_after_a_break_stops_the_model(triton):
    inputs = tagged(COUNT=100_000, DELAY=0.02)
    async with InferenceServerClient(triton.http_url) as client:
        async with aclosing(client.generate_stream(MODEL, inputs)) as events:
            tokens = []
            async for event in events:
                tokens.append(event["TOKEN"])
                if len(tokens) == 3:
                    break
        state = await finished(inputs["TAG"])
        assert tokens == ["token 0", "token 1", "token 2"]
        assert state["cancelled"] and state["produced"] < 100_000, state
        again = [e["TOKEN"] async for e in client.generate_stream(MODEL, tagged(COUNT=2))]
        assert again == ["token 0", "token 1"]  # the client goes on (a new connection)


async def test_the_blocking_clients_break_stops_the_model(triton):
    from pyotritonclient.sync import InferenceServerClient as BlockingClient

    inputs = tagged(COUNT=100_000, DELAY=0.02)
    with BlockingClient(triton.http_url) as client:
        tokens = []
        for event in client.generate_stream(MODEL, inputs):
            tokens.append(event["TOKEN"])
            if len(tokens) == 3:
                break  # (the loop's generator is dropped here: closing it closes the HTTP stream)
        state = await finished(inputs["TAG"])
    assert state["cancelled"] and state["produced"] < 100_000, state


async def test_a_stream_that_times_out_stops_the_model(triton):
    inputs = tagged(COUNT=10, DELAY=3.0)  # three seconds between tokens; the caller waits one
    async with InferenceServerClient(triton.http_url) as client:
        tokens = []
        with pytest.raises(InferenceServerException) as timed_out:
            async for event in client.generate_stream(MODEL, inputs, timeout=1.0):
                tokens.append(event["TOKEN"])
        assert timed_out.value.status() == "TIMEOUT" and tokens == ["token 0"]
        state = await finished(inputs["TAG"])
    assert state["cancelled"] and state["produced"] < 10, state
