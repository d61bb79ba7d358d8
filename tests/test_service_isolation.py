"""Callers of the service cannot reach each other's state, and every function has the same guards (issue 24):
sequence ids that callers choose never collide on Triton (across replicas too), another caller's sequence is
answered like a missing one, the size limit and the per-call timeout hold for every function, and a refusal
reaches an RPC caller without the service's traceback. Against the real Triton (and the real hypha for RPC)."""

from __future__ import annotations

import asyncio
import re
import socket
import threading

import numpy as np
import pytest
from loopback import LoopbackServer

from pyotritonclient.service import ServiceConfig, ServiceError, TritonService
from pyotritonclient.service.schemas import SCHEMAS

ALICE = {"from": "ws-1/alice", "user": {"id": "alice"}}
BOB = {"from": "ws-2/bob", "user": {"id": "bob"}}


def value(result) -> int:
    return int(np.asarray(result["OUTPUT"]).reshape(-1)[0])


def step(x: int):
    return {"INPUT": np.array([x], np.int32)}


@pytest.fixture
async def replicas(triton):
    """Two replicas of the service on one Triton, as `--triton-url` twice on one hypha makes them."""
    made = [TritonService(ServiceConfig(triton.http_url, sequence_idle_timeout=600)) for _ in range(2)]
    yield made
    for service in made:
        await service.close()


async def test_the_same_sequence_id_on_two_replicas_keeps_two_sequences_on_triton(replicas):
    """The review's reproduction: Bob's START on another replica reset Alice's sum; Bob's end returned it."""
    a, b = replicas
    alice = await a.sequence_start("sequence_accumulate", sequence_id=7, context=ALICE)
    bob = await b.sequence_start("sequence_accumulate", sequence_id=7, context=BOB)
    assert alice == bob == 7  # each caller keeps the id it asked for
    assert value(await a.sequence_step(7, step(5), context=ALICE)) == 5
    assert value(await b.sequence_step(7, step(100), context=BOB)) == 100  # a START of its own: Alice's stays
    assert value(await a.sequence_step(7, step(1), context=ALICE)) == 6
    assert value(await b.sequence_end(7, step(1), context=BOB)) == 101
    assert value(await a.sequence_end(7, step(2), context=ALICE)) == 8


async def test_two_callers_may_use_the_same_id_on_one_replica(replicas):
    a, _ = replicas
    await a.sequence_start("sequence_accumulate", sequence_id="run-1", context=ALICE)
    await a.sequence_start("sequence_accumulate", sequence_id="run-1", context=BOB)
    assert value(await a.sequence_step("run-1", step(3), context=ALICE)) == 3
    assert value(await a.sequence_step("run-1", step(40), context=BOB)) == 40
    assert value(await a.sequence_end("run-1", step(1), context=ALICE)) == 4
    assert value(await a.sequence_end("run-1", step(2), context=BOB)) == 42
    with pytest.raises(ServiceError, match="already open"):  # the same caller twice: refused
        await a.sequence_start("sequence_accumulate", sequence_id=9, context=ALICE)
        await a.sequence_start("sequence_accumulate", sequence_id=9, context=ALICE)


async def test_another_callers_sequence_is_answered_like_a_missing_one(replicas):
    a, _ = replicas
    await a.sequence_start("sequence_accumulate", sequence_id=11, context=ALICE)
    answers = []
    for sequence_id in (11, 12):  # 11 is Alice's, 12 was never started
        for call in (a.sequence_step(sequence_id, step(1), context=BOB), a.sequence_end(sequence_id, context=BOB)):
            with pytest.raises(ServiceError) as refused:
                await call
            answers.append(re.sub(r"\b1[12]\b", "N", refused.value.message()))
    assert answers[0] == answers[2] and answers[1] == answers[3], answers
    assert value(await a.sequence_end(11, step(4), context=ALICE)) == 4  # Bob's tries did nothing


class Silent(LoopbackServer):
    """A server that accepts connections and never answers (what a paused or wedged Triton looks like)."""


CALLS = {  # every exported function with arguments that reach the server (or the registry)
    "execute": {"model_name": "add_sub", "inputs": [np.zeros(16, np.int32), np.zeros(16, np.int32)]},
    "list_models": {},
    "get_config": {"model_name": "add_sub"},
    "sequence_start": {"model_name": "sequence_accumulate"},
    "sequence_step": {"sequence_id": 5, "inputs": step(1)},
    "sequence_end": {"sequence_id": 5, "inputs": step(1)},
    "list_sequences": {},
    "get_load": {},
    "generate_stream": {"model_name": "cancellable_stream", "inputs": {"TAG": "", "COUNT": 1}},
}


def test_the_guard_table_covers_every_exported_function():
    assert set(CALLS) == set(SCHEMAS)


async def test_every_function_refuses_a_payload_over_the_size_limit(triton):
    """The limit is checked on every call's arguments before anything else, not only on execute's inputs."""
    service = TritonService(ServiceConfig(triton.http_url, max_request_bytes=10_000))
    await service.call("sequence_start", kwargs={"model_name": "sequence_accumulate", "sequence_id": 5})
    big = "x" * 20_000
    try:
        for name, kwargs in CALLS.items():
            if name in ("list_sequences", "get_load"):
                continue  # they take no caller data (only hypha's context)
            field = "inputs" if "inputs" in kwargs else "server_url"
            with pytest.raises(ServiceError, match="more than this service accepts"):
                await service.call(name, kwargs={**kwargs, field: {"INPUT": big} if field == "inputs" else big})
        assert value(await service.call("sequence_end", kwargs=CALLS["sequence_end"])) == 1  # untouched
    finally:
        await service.close()


async def test_every_function_answers_within_the_services_timeout(triton):
    """A Triton that accepts and never answers: each call is refused after the service's timeout, none hangs."""
    silent = Silent()
    service = TritonService(ServiceConfig(silent.url, timeout=0.5, sequence_idle_timeout=600))
    try:
        for name, kwargs in CALLS.items():
            if name in ("sequence_step", "sequence_end", "list_sequences", "get_load"):
                continue  # no sequence can be opened on a silent server: see the next test
            with pytest.raises(ServiceError, match=r"did not finish within the service.s timeout \(0.5 s\)"):
                answer = await asyncio.wait_for(service.call(name, kwargs=kwargs), 60)
                if name == "generate_stream":  # (a stream's calls are its pulls)
                    await asyncio.wait_for(answer.__anext__(), 60)
    finally:
        await service.close()
        silent.close()


class PausingProxy(LoopbackServer):
    """A TCP proxy in front of the real Triton that stops passing bytes on when paused (a wedged Triton)."""

    def __init__(self, target: str) -> None:
        host, port = target.split("//", 1)[1].rstrip("/").split(":")
        self.target = (host, int(port))
        self.running = threading.Event()
        self.running.set()
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        self.held.append(upstream)
        threading.Thread(target=self._pipe, args=(upstream, connection), daemon=True).start()
        self._pipe(connection, upstream)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self.running.wait()
                sink.sendall(data)
        except OSError:
            pass

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()


async def test_sequence_steps_and_ends_answer_within_the_services_timeout(triton):
    proxy = PausingProxy(triton.http_url)
    service = TritonService(ServiceConfig(proxy.url, timeout=1.0, sequence_idle_timeout=600))
    try:
        for sequence_id in (5, 6):
            await service.call(
                "sequence_start", kwargs={"model_name": "sequence_accumulate", "sequence_id": sequence_id}
            )
            assert (
                value(
                    await service.call("sequence_step", kwargs={**CALLS["sequence_step"], "sequence_id": sequence_id})
                )
                == 1
            )
        proxy.pause()
        for name, sequence_id in (("sequence_step", 5), ("sequence_end", 6)):
            with pytest.raises(ServiceError, match=r"did not finish within the service.s timeout \(1 s\)"):
                await asyncio.wait_for(service.call(name, kwargs={**CALLS[name], "sequence_id": sequence_id}), 60)
    finally:
        proxy.resume()
        await service.close()
        proxy.close()


async def test_a_drain_ends_every_sequence_at_once_within_the_grace_period(triton):
    """Five open sequences on a Triton that stopped answering, a 1 s grace and a 30 s per-call timeout: the
    ends go out together under one deadline (one after another, each up to the timeout, took 5 x 30 s)."""
    proxy = PausingProxy(triton.http_url)
    service = TritonService(ServiceConfig(proxy.url, timeout=30.0, sequence_idle_timeout=600))
    try:
        for sequence_id in range(1, 6):
            await service.call(
                "sequence_start", kwargs={"model_name": "sequence_accumulate", "sequence_id": sequence_id}
            )
            await service.call("sequence_step", kwargs={"sequence_id": sequence_id, "inputs": step(1)})
        proxy.pause()
        report = await asyncio.wait_for(service.drain(1.0, "stopping for the test"), 25)  # < one call's timeout
        assert (report.calls_left, report.sequences_ended, report.sequences_unconfirmed) == (0, 0, 5)
        line = report.describe(1.0)
        assert "no call running" in line and "0 open sequence(s) ended" in line and "5 not confirmed" in line
        proxy.resume()
        with pytest.raises(ServiceError, match="was ended: stopping for the test"):
            await service.call("sequence_step", kwargs={"sequence_id": 3, "inputs": step(1)})
    finally:
        proxy.resume()
        await service.close()
        proxy.close()


async def test_a_drain_that_reaches_triton_says_so(triton):
    service = TritonService(ServiceConfig(triton.http_url, sequence_idle_timeout=600))
    try:
        for sequence_id in (1, 2):
            await service.call(
                "sequence_start", kwargs={"model_name": "sequence_accumulate", "sequence_id": sequence_id}
            )
            await service.call("sequence_step", kwargs={"sequence_id": sequence_id, "inputs": step(1)})
        report = await service.drain(5.0)
        assert (report.calls_left, report.sequences_ended, report.sequences_unconfirmed) == (0, 2, 0)
    finally:
        await service.close()


async def test_the_imjoy_plugins_configure_never_returns_credentials():
    from pyotritonclient.service.imjoy import ImJoyPlugin

    plugin = ImJoyPlugin(triton_url="http://127.0.0.1:1")
    shown = await plugin.configure("http://alice:pw@127.0.0.1:8000", allowed_urls=["http://bob:secret@127.0.0.1:8001"])
    assert shown == ["http://***@127.0.0.1:8000/", "http://***@127.0.0.1:8001/"]
    await plugin.service.close()


async def test_a_call_forwarded_by_another_hypha_process_owns_no_sequence(replicas):
    """hypha's cluster mode delivers a call that crossed processes as from '*/manager-<server>' (as root),
    whoever sent it (measured in tests/test_cluster.py): every caller there would share one owner."""
    a, _ = replicas
    forwarded = {"from": "*/manager-hypha-1", "user": {"id": "root"}}
    with pytest.raises(ServiceError, match="forwarded by another hypha server"):
        await a.sequence_start("sequence_accumulate", context=forwarded)
    with pytest.raises(ServiceError, match="forwarded by another hypha server"):
        await a.list_sequences(context=forwarded)
    results = await a.execute("add_sub", [np.zeros(16, np.int32), np.ones(16, np.int32)], context=forwarded)
    assert results["OUTPUT0"].tolist() == [1] * 16  # calls that own nothing still work
