"""generate and generate_stream against the real Triton (a decoupled model that answers in several events)."""

from __future__ import annotations

import time

import pytest

from pyotritonclient.http import (
    InferenceServerException,
)


async def test_generate_stream_delivers_events_as_they_come(client):
    started = time.monotonic()
    arrivals, events = [], []
    async for event in client.generate_stream("decoupled_stream", {"TEXT": "hi", "COUNT": 3, "DELAY": 1.0}):
        arrivals.append(time.monotonic() - started)
        events.append(event)
    assert [e["TEXT"] for e in events] == ["hi 0", "hi 1", "hi 2"]
    assert arrivals[0] < arrivals[-1] - 1.0, arrivals  # the first came long before the model finished (2 s apart there)


async def test_generate_stream_server_error(client):
    with pytest.raises(InferenceServerException) as info:
        async for _ in client.generate_stream("no_such_model", {"TEXT": "hi"}):
            pass
    assert info.value.status() == "404" and "no_such_model" in info.value.message()


async def test_generate_single_response(client):
    result = await client.generate("decoupled_stream", {"TEXT": "one", "COUNT": 1, "DELAY": 0.0})
    assert result["TEXT"] == "one 0"
    assert result["model_name"] == "decoupled_stream"
