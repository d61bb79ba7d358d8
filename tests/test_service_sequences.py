"""The service's sequence registry rule by rule, against the real Triton (``sequence_accumulate``: a running sum
per Triton sequence id): what a caller is told about a sequence that is gone and why, idle expiry, liveness checks,
release and close (the ids: test_service_sequence_ids.py). test_service*.py show the same through the RPC
functions; these pin the edges so that `./dev mutate` finds a change."""

from __future__ import annotations

import asyncio
import json
import logging

import numpy as np
import pytest
from accumulate import ALICE, BOB, MODEL, one, total
from loopback import LoopbackServer, RelayServer

from pyotritonclient.protocol.metadata import SEQUENCES
from pyotritonclient.service import ServiceConfig, ServiceError, TritonService
from pyotritonclient.service.policy import ServiceTimeout


async def test_a_sequence_never_started_is_answered_as_such(svc):
    with pytest.raises(ServiceError) as caught:
        await svc.sequence_step(42, one(1), context=ALICE)
    assert caught.value.message() == (
        "you have no open sequence 42 here (never started by you on this service replica, ended, or expired after "
        "being idle); a sequence stays on the replica that started it: keep using that service object"
    )


async def test_a_released_callers_sequences_say_why_they_ended(svc, caplog):
    await svc.sequence_start(MODEL, sequence_id=8, context=BOB)
    await svc.sequence_start(MODEL, sequence_id=9, context=BOB)
    await svc.sequence_start(MODEL, sequence_id=8, context=ALICE)
    with caplog.at_level(logging.INFO, logger="pyotritonclient.service"):
        assert await svc.sequences.release("ws-2/bob", because="a test said so") == 2
    assert "ended 2 sequence(s) of ws-2/bob: a test said so (2 confirmed by Triton)" in caplog.text
    with pytest.raises(ServiceError) as caught:
        await svc.sequence_step(8, one(1), context=BOB)
    assert caught.value.message() == "sequence 8 was ended: a test said so; start a new sequence"
    assert await svc.sequences.release("ws-2/bob") == 0
    assert total(await svc.sequence_step(8, one(2), context=ALICE)) == 2  # another caller's is untouched
    assert await svc.release_caller(ALICE) == 1
    with pytest.raises(ServiceError, match=r"^sequence 8 was ended: its caller disconnected; start a new"):
        await svc.sequence_step(8, one(1), context=ALICE)


async def test_the_list_says_id_model_steps_and_idle_time(svc):
    seq = await svc.sequence_start(MODEL, context=ALICE)
    await svc.sequence_step(seq, one(1), context=ALICE)
    await svc.sequence_step(seq, one(1), context=ALICE)
    (listed,) = await svc.list_sequences(context=ALICE)
    assert set(listed) == {"sequence_id", "model_name", "steps", "idle_seconds"}
    assert (listed["sequence_id"], listed["model_name"], listed["steps"]) == (seq, MODEL, 2)
    assert 0 <= listed["idle_seconds"] and listed["idle_seconds"] == round(listed["idle_seconds"], 3)
    assert await svc.list_sequences(context=BOB) == []


async def test_only_sequences_idle_longer_than_the_timeout_expire_and_the_server_ends_them(svc, triton):
    old = await svc.sequence_start(MODEL, sequence_id=1, context=ALICE)
    await svc.sequence_step(old, one(5), context=ALICE)
    fresh = await svc.sequence_start(MODEL, sequence_id=2, context=ALICE)
    entries = svc.sequences.open
    triton_id = entries[("ws-1/alice", "1")].executor.sequence_id
    entries[("ws-1/alice", "1")].last_used -= 601  # idle for longer than the timeout
    entries[("ws-1/alice", "2")].last_used -= 599
    assert await svc.expire_idle() == [old]
    assert [s["sequence_id"] for s in await svc.list_sequences(context=ALICE)] == [fresh]
    from pyotritonclient import InferenceServerException, SequenceExecutor

    with pytest.raises(InferenceServerException, match="START"):  # ended on Triton: a step needs a new start
        await SequenceExecutor(triton.http_url, MODEL, triton_id, start=False).step(one(1))


async def test_a_sequence_in_a_step_does_not_expire(svc):
    seq = await svc.sequence_start(MODEL, context=ALICE)
    entry = next(iter(svc.sequences.open.values()))
    entry.last_used -= 10_000
    async with entry.lock:  # a step under way
        assert await svc.expire_idle() == []
    assert await svc.expire_idle() == [seq]


async def test_liveness_checks_ask_every_owner_but_local_ones(triton):
    asked = []

    async def alive(owner):
        asked.append(owner)
        if owner == "ws-3/carol":
            raise RuntimeError("cannot tell")  # unknown: kept
        return owner != "ws-2/bob"

    service = TritonService(ServiceConfig(triton.http_url), caller_alive=alive)
    try:
        assert await service.check_callers() == [] and service.sequences.liveness_checks == 1  # no owners yet
        for context in (ALICE, BOB, {"from": "ws-3/carol"}, None):
            await service.sequence_start(MODEL, context=context)
        assert await service.check_callers() == []
        assert asked == ["ws-1/alice", "ws-2/bob", "ws-3/carol"]  # sorted, once each, never "local"
        assert await service.check_callers() == ["ws-2/bob"]
        assert service.sequences.liveness_checks == 3
        owners = sorted(s.owner for s in service.sequences.open.values())
        assert owners == ["local", "ws-1/alice", "ws-3/carol"]
    finally:
        await service.close()


async def test_without_a_liveness_check_nobody_is_released(svc):
    await svc.sequence_start(MODEL, context=BOB)
    assert await svc.check_callers() == [] and svc.sequences.liveness_checks == 0


async def test_close_ends_every_sequence_and_remembers_why(svc):
    for sequence_id in (1, 2, 3):
        await svc.sequence_start(MODEL, sequence_id=sequence_id, context=ALICE)
    assert await svc.sequences.close(ended_because="the test stops the service") == (3, 0)
    assert svc.sequences.open == {}
    with pytest.raises(ServiceError, match=r"^sequence 2 was ended: the test stops the service; start a new"):
        await svc.sequence_step(2, one(1), context=ALICE)
    assert await svc.sequences.close() == (0, 0)


async def test_a_sequence_ended_while_a_step_waited_is_refused_to_that_step(svc):
    seq = await svc.sequence_start(MODEL, context=ALICE)
    entry = next(iter(svc.sequences.open.values()))
    async with entry.lock:  # a step under way; the next one waits
        waiting = asyncio.ensure_future(svc.sequence_step(seq, one(1), context=ALICE))
        while not entry.lock._waiters and not waiting.done():  # until it waits for the lock (loop turns, no clock)
            await asyncio.sleep(0)
        del svc.sequences.open[("ws-1/alice", str(seq))]  # ended meanwhile
    with pytest.raises(ServiceError) as caught:
        await waiting
    assert caught.value.message() == f"no open sequence {seq!r} (ended or freed while this call waited)"


async def test_finish_reports_whether_the_server_confirmed(svc):
    assert await svc.sequences.finish(("nobody", "1")) is True
    await svc.sequence_start(MODEL, sequence_id=4, context=ALICE)
    await svc.sequence_step(4, one(1), context=ALICE)
    entry = svc.sequences.open[("ws-1/alice", "4")]
    async with entry.lock:  # a step that never ends: the end cannot come within the bound
        assert await svc.sequences.finish(("ws-1/alice", "4"), within=0.2) is False
    assert svc.sequences.open == {}


async def test_the_limits_count_starts_under_way(svc):
    svc.config.max_sequences_per_caller = 1
    first, second = await asyncio.gather(
        svc.sequence_start(MODEL, context=ALICE), svc.sequence_start(MODEL, context=ALICE), return_exceptions=True
    )
    assert sum(isinstance(r, ServiceError) for r in (first, second)) == 1
    assert len(svc.sequences.open) == 1 and svc.sequences._starting == {}


def train_step(value, **options):
    return [np.full([1, 2, 2], value, np.float32), np.ones([2, 2], np.uint16), {"steps": 1, **options}]


async def test_steps_and_ends_decode_json_only_when_asked(svc):
    seq = await svc.sequence_start("cellpose-train", context=ALICE)
    decoded = await svc.sequence_step(seq, train_step(1.0), context=ALICE)
    assert np.asarray(decoded["info"], dtype=object).reshape(-1)[0]["steps_done"] == 1
    raw = await svc.sequence_step(seq, train_step(1.0), decode_json=False, context=ALICE)
    (text,) = np.asarray(raw["info"], dtype=object).reshape(-1)
    assert isinstance(text, str) and json.loads(text)["steps_done"] == 2  # the JSON text, not decoded
    ended = await svc.sequence_end(seq, train_step(1.0), decode_json=False, context=ALICE)
    assert json.loads(np.asarray(ended["info"], dtype=object).reshape(-1)[0])["steps_done"] == 3


async def test_the_list_can_be_read_while_a_step_runs(svc):
    seq = await svc.sequence_start("cellpose-train", context=ALICE)
    entry = next(iter(svc.sequences.open.values()))
    step = asyncio.ensure_future(svc.sequence_step(seq, train_step(1.0, sleep=0.5), context=ALICE))
    while not entry.lock.locked() and not step.done():  # the step holds the sequence (loop turns, no clock)
        await asyncio.sleep(0)
    (listed,) = await svc.list_sequences(context=ALICE)
    assert isinstance(listed["idle_seconds"], float) and listed["idle_seconds"] >= 0
    await step


async def test_idle_seconds_are_seconds_since_the_last_step_to_the_millisecond(svc):
    await svc.sequence_start(MODEL, context=ALICE)
    next(iter(svc.sequences.open.values())).last_used -= 100
    (listed,) = await svc.list_sequences(context=ALICE)
    idle = listed["idle_seconds"]
    assert isinstance(idle, float) and 100 <= idle < 200 and idle == round(idle, 3)


async def test_a_caller_released_by_the_liveness_checks_is_told_why(triton):
    async def gone(owner):
        return False

    service = TritonService(ServiceConfig(triton.http_url), caller_alive=gone)
    try:
        await service.sequence_start(MODEL, sequence_id=3, context=BOB)
        assert await service.check_callers() == [] and await service.check_callers() == ["ws-2/bob"]
        with pytest.raises(ServiceError) as caught:
            await service.sequence_step(3, one(1), context=BOB)
        assert caught.value.message() == (
            "sequence 3 was ended: its caller disconnected (gone at two liveness checks in a row); start a new sequence"
        )
    finally:
        await service.close()


async def test_the_reasons_kept_for_ended_sequences_are_bounded(svc, caplog):
    svc.sequences.ended.update({("someone", str(i)): "old" for i in range(9_999)})
    await svc.sequence_start(MODEL, sequence_id=1, context=BOB)
    await svc.sequence_start(MODEL, sequence_id=2, context=BOB)
    with caplog.at_level(logging.INFO, logger="pyotritonclient.service"):
        assert await svc.sequences.release("ws-2/bob", because="gone") == 2
    assert len(svc.sequences.ended) == 10_000  # the first kept, the second not: at most 10,000 reasons
    assert [r.getMessage() for r in caplog.records if r.name == "pyotritonclient.service"] == [
        "ended 2 sequence(s) of ws-2/bob: gone (2 confirmed by Triton)"
    ]


async def test_a_start_against_a_silent_server_ends_within_the_services_timeout():
    silent = LoopbackServer()  # accepts, reads, never answers
    service = TritonService(ServiceConfig(silent.url, timeout=0.5))
    try:
        with pytest.raises(ServiceTimeout):
            await asyncio.wait_for(service.sequence_start(MODEL, context=ALICE), 60)  # 60: only a hung test
        assert service.sequences.open == {} and service.sequences._starting == {}
    finally:
        await service.close()
        silent.close()


async def test_a_sequence_on_several_servers_is_pinned_to_one(triton):
    both = f"http://127.0.0.1:{triton.http_port},http://localhost:{triton.http_port}"
    service = TritonService(ServiceConfig(both))
    try:
        seq = await service.sequence_start(MODEL, context=ALICE)
        assert total(await service.sequence_step(seq, one(2), context=ALICE)) == 2
        assert total(await service.sequence_step(seq, one(3), context=ALICE)) == 5
        assert total(await service.sequence_end(seq, one(1), context=ALICE)) == 6
    finally:
        await service.close()


async def test_the_reaper_runs_the_liveness_checks_and_releases_a_caller_gone_twice(triton):
    async def gone(owner):
        return False

    config = ServiceConfig(triton.http_url, sequence_idle_timeout=600, liveness_interval=0.1)
    service = TritonService(config, caller_alive=gone)
    try:
        seq = await service.sequence_start(MODEL, context=BOB)
        for _ in range(1200):  # polls the state (the reaper checks every 0.1 s); 60 s only stops a hung test
            if not await service.list_sequences(context=BOB):
                break
            await asyncio.sleep(0.05)
        assert await service.list_sequences(context=BOB) == [] and service.sequences.liveness_checks >= 2
        with pytest.raises(ServiceError, match=rf"^sequence {seq} was ended: its caller disconnected \(gone at two"):
            await service.sequence_step(seq, one(1), context=BOB)
    finally:
        await service.close()


async def test_close_without_a_reason_remembers_none_and_with_one_at_most_10000(svc):
    await svc.sequence_start(MODEL, sequence_id=1, context=ALICE)
    assert await svc.sequences.close() == (1, 0) and svc.sequences.ended == {}
    svc.sequences.ended.update({("someone", str(i)): "old" for i in range(9_999)})
    await svc.sequence_start(MODEL, sequence_id=2, context=ALICE)
    await svc.sequence_start(MODEL, sequence_id=3, context=ALICE)
    assert await svc.sequences.close("stopping") == (2, 0)
    assert len(svc.sequences.ended) == 10_000


async def test_a_server_without_sequence_support_is_refused_at_start(triton):
    def no_sequences(path, body):
        if path != "/v2":
            return body
        metadata = json.loads(body)
        metadata["extensions"] = [e for e in metadata["extensions"] if e != SEQUENCES]
        return json.dumps(metadata).encode()

    relay = RelayServer(triton, close_on="/never", rewrite=no_sequences)
    service = TritonService(ServiceConfig(relay.url))
    try:
        with pytest.raises(ServiceError) as caught:
            await service.sequence_start(MODEL, context=ALICE)
        assert caught.value.message().endswith(
            f"at {relay.url}/ has no sequence support: '{MODEL}' cannot run as a sequence"
        )
        assert service.sequences.open == {}
    finally:
        await service.close()
        relay.close()


async def test_a_start_whose_capabilities_read_gets_no_answer_ends_within_the_services_timeout(triton):
    relay = RelayServer(triton, close_on="/never", hold_on="/v2")  # GET v2 (the server's metadata) never answers
    service = TritonService(ServiceConfig(relay.url, timeout=0.5))
    try:
        with pytest.raises(ServiceTimeout):
            await asyncio.wait_for(service.sequence_start(MODEL, context=ALICE), 30)  # 30: only a hung test
        assert any(path == "/v2" for method, path, headers, body in relay.seen)
    finally:
        await service.close()
        relay.close()
