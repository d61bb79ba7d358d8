"""Streams and sequences together (issue 36): a streaming step of a sequence-batched decoupled model.

Triton 2.51's HTTP API has no way to send one: ``/infer`` refuses every decoupled model (501) and
``generate_stream`` carries no correlation id (400 "must specify a non-zero or non-empty correlation ID"), so a
sequence model can never stream over HTTP. The first test pins those facts on the real Triton (should a later
Triton accept it, it fails, and the refusal below can become the feature); the others check that the service
refuses with that reason, before anything runs, instead of handing the caller Triton's puzzle."""

from __future__ import annotations

import numpy as np
import pytest

from pyotritonclient import ServerError
from pyotritonclient.http.aio import InferenceServerClient, InferInput
from pyotritonclient.service import ServiceError

MODEL = "sequence_stream"
ALICE = {"from": "ws-1/alice", "user": {"id": "alice"}}


async def test_triton_has_no_streaming_step_of_a_sequence_over_http(triton):
    async with InferenceServerClient(triton.http_url) as client:
        inputs = [InferInput("INPUT", [1], "INT32"), InferInput("COUNT", [1], "INT32")]
        inputs[0].set_data_from_numpy(np.array([2], np.int32))
        inputs[1].set_data_from_numpy(np.array([3], np.int32))
        with pytest.raises(ServerError, match="decoupled") as infer:
            await client.infer(MODEL, inputs, sequence_id=7, sequence_start=True)
        assert infer.value.http_status == 501
        events = client.generate_stream(
            MODEL, {"INPUT": [2], "COUNT": [3]}, parameters={"sequence_id": 7, "sequence_start": True}
        )
        with pytest.raises(ServerError, match="correlation ID") as stream:
            async for _ in events:
                pass
        assert stream.value.http_status == 400


async def test_the_service_refuses_a_stream_of_a_sequence_model_with_the_reason(svc):
    stream = await svc.generate_stream(MODEL, {"INPUT": [2], "COUNT": [3]}, context=ALICE)
    with pytest.raises(ServiceError, match=r"'sequence_stream' is a sequence model.*no streaming step"):
        await stream.__anext__()
    assert svc.streams.open == {}


async def test_the_service_refuses_a_sequence_of_a_decoupled_model_with_the_reason(svc):
    with pytest.raises(ServiceError, match=r"'sequence_stream' is decoupled.*no streaming step"):
        await svc.sequence_start(MODEL, context=ALICE)
    assert await svc.list_sequences(context=ALICE) == []
