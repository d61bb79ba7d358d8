"""One Deadline from the API to the socket (issue 35): a call's ``timeout`` is made into a Deadline once, where
the call enters (``execute``, a pool, a sequence step, the service's ``call``), and the transport gets that very
object; no layer turns it back into seconds or makes a second one. The real Triton answers; the transport
records what it was handed."""

from __future__ import annotations

import numpy as np
import pytest

from pyotritonclient import SequenceExecutor, execute
from pyotritonclient.engine.options import ExecuteOptions
from pyotritonclient.engine.pool import ServerPool
from pyotritonclient.engine.session import Session
from pyotritonclient.protocol.deadline import Deadline
from pyotritonclient.service import ServiceConfig, TritonService
from pyotritonclient.transport.asyncio_http11 import Http11Transport

A = np.arange(16, dtype=np.int32)
B = np.ones(16, dtype=np.int32)


@pytest.fixture
def handed(monkeypatch):
    """(URL path, deadline) of every request the HTTP/1.1 transport sends, in order."""
    seen = []
    send = Http11Transport.send

    async def recording(self, request, deadline):
        seen.append((request.url.split("/v2/", 1)[-1], deadline))
        return await send(self, request, deadline)

    monkeypatch.setattr(Http11Transport, "send", recording)
    return seen


def infers(seen):
    return [deadline for path, deadline in seen if path.endswith("/infer")]


async def test_execute_hands_its_one_deadline_to_the_socket(triton, handed):
    await execute([A, B], triton.http_url, "add_sub", timeout=30)
    await execute([A, B], triton.http_url, "add_sub", timeout=30)
    first, second = infers(handed)
    assert first.timeout == 30 and second.timeout == 30 and first is not second  # one per call
    mine = Deadline(30)
    await execute([A, B], triton.http_url, "add_sub", timeout=mine)
    assert infers(handed)[-1] is mine  # a caller's Deadline is used as it is, never re-made


async def test_a_pool_and_a_sequence_pass_the_callers_deadline_on(triton, handed):
    pool = ServerPool([Session(triton.http_url)])
    try:
        mine = Deadline(30)
        await pool.execute("add_sub", [A, B], ExecuteOptions(timeout=mine))
        assert infers(handed)[-1] is mine
    finally:
        await pool.close()
    sequence = SequenceExecutor(triton.http_url, "sequence_accumulate", 4242, timeout=30)
    step = Deadline(30)
    await sequence.step([np.array([1], dtype=np.int32)], timeout=step)
    await sequence.end([np.array([2], dtype=np.int32)])
    last_two = infers(handed)[-2:]
    assert last_two[0] is step and last_two[1] is not step and last_two[1].timeout == 30


async def test_the_service_makes_one_deadline_per_call_and_nests_no_timeout(triton, handed):
    service = TritonService(ServiceConfig(triton.http_url, timeout=25, sequence_idle_timeout=600))
    try:
        await service.call("execute", kwargs={"model_name": "add_sub", "inputs": [A, B]})
        sequence_id = await service.call("sequence_start", kwargs={"model_name": "sequence_accumulate"})
        await service.call("sequence_step", kwargs={"sequence_id": sequence_id, "inputs": [np.array([1], np.int32)]})
        await service.call("sequence_end", kwargs={"sequence_id": sequence_id})
    finally:
        await service.close()
    run, step, end = infers(handed)[-3:]
    assert run.timeout == step.timeout == end.timeout == 25 and len({id(run), id(step), id(end)}) == 3
